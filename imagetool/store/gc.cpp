// Garbage collection: mark from index.json, sweep blobs/, empty tmp/ (with the store
// locked exclusively, so no pull or import is between writing a blob and naming it).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "base/file.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image {

namespace {

void mark(const Store& s, const spec::Descriptor& d, std::set<spec::Digest>& live, int depth) {
    if (!live.insert(d.digest).second || depth > 8) return;
    bool index = d.media_type == spec::kMediaTypeOciIndex ||
                 d.media_type == spec::kMediaTypeDockerManifestList;
    bool manifest = d.media_type == spec::kMediaTypeOciManifest ||
                    d.media_type == spec::kMediaTypeDockerManifest;
    if (!index && !manifest) return;
    auto text = s.read_blob(d);
    if (!text) return;  // missing or corrupt: nothing below it can be reached
    if (index) {
        auto x = spec::parse_index(*text);
        if (!x) return;
        for (const auto& m : x->manifests)
            mark(s, m, live, depth + 1);
        if (x->subject) mark(s, *x->subject, live, depth + 1);
    } else {
        auto m = spec::parse_manifest(*text);
        if (!m) return;
        live.insert(m->config.digest);
        for (const auto& l : m->layers)
            live.insert(l.digest);
    }
}

}  // namespace

Result<GcReport> Store::gc(const GcRoots& roots) {
    auto lock = TRY(exclusive());
    auto index = TRY(read_index());
    std::set<spec::Digest> live;
    if (roots) TRY(roots(live));
    for (const auto& d : index.manifests)
        mark(*this, d, live, 0);
    GcReport rep;
    for (const auto& alg : list_dir(dir_ + "/blobs")) {
        for (const auto& hex : list_dir(dir_ + "/blobs/" + alg)) {
            if (live.count(spec::Digest{alg, hex})) continue;
            std::string p = dir_ + "/blobs/" + alg + "/" + hex;
            struct stat st {};
            if (::lstat(p.c_str(), &st) < 0) continue;
            if (::unlink(p.c_str()) < 0) return sys_error("remove '" + p + "'");
            rep.blobs_removed++;
            rep.bytes_removed += uint64_t(st.st_size);
        }
    }
    for (const auto& n : list_dir(tmp_dir())) {
        TRY(remove_all(tmp_dir() + "/" + n));
        rep.temp_removed++;
    }
    // Temporary index.json names left by a crash between write and rename.
    for (const auto& n : list_dir(dir_))
        if (n.starts_with("index.json.tmp-")) {
            TRY(remove_all(dir_ + "/" + n));
            rep.temp_removed++;
        }
    return rep;
}

}  // namespace berth::image
