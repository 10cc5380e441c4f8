// oci:DIR[:REF], an OCI image layout directory, as a copy source and destination.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/file.hpp"
#include "imagetool/transport/transport.hpp"

namespace berth::image::transport {

namespace {

std::string blob_file(const std::string& dir, const spec::Digest& d) {
    return dir + "/blobs/" + d.algorithm + "/" + d.hex;
}

Result<spec::Index> read_layout_index(const std::string& dir) {
    std::string what = "oci layout '" + dir + "'";
    auto layout = TRY_CTX(read_file(dir + "/oci-layout", 4096), what);
    TRY_CTX(spec::parse_layout(layout), what + ": oci-layout");
    auto text = TRY_CTX(read_file(dir + "/index.json", 64u << 20), what);
    return spec::parse_index(text).context(what + ": index.json");
}

// Reads blobs in place through the store's verifying readers: a layout's blobs are laid out
// as the store's are.
class LayoutSource : public BlobSource {
  public:
    explicit LayoutSource(const std::string& dir) : view_(Store::view(dir)) {}

    Result<std::string> read_document(const spec::Descriptor& d) override {
        return view_.read_blob(d, kMaxSmallBlob);
    }

    Status copy_blob(const spec::Descriptor& d, Store& to) override {
        if (to.has_blob(d.digest)) return ok();
        auto r = TRY(view_.open_blob(d));
        auto w = TRY(to.create_blob(d));
        std::vector<char> buf(1 << 20);
        for (;;) {
            size_t n = TRY(r.read(buf.data(), buf.size()));
            if (n == 0) break;
            TRY(w.write(buf.data(), n));
        }
        TRY(w.commit(d.media_type));
        return ok();
    }

  private:
    Store view_;
};

}  // namespace

Result<spec::Descriptor> pick_from_index(const spec::Index& index, const std::string& ref,
                                         const std::string& what) {
    if (!ref.empty()) {
        for (const auto& m : index.manifests) {
            auto it = m.annotations.find(spec::kAnnotationRefName);
            if (it != m.annotations.end() && it->second == ref) return m;
        }
        return error(what + ": no image named '" + ref + "' in index.json");
    }
    if (index.manifests.size() == 1) return index.manifests[0];
    if (index.manifests.empty()) return error(what + ": index.json lists no image");
    return error(what + ": index.json lists " + std::to_string(index.manifests.size()) +
                 " images: name one as " + what.substr(0, what.find(' ')) + ":PATH:REF");
}

std::string ref_name_hint(const spec::Descriptor& d) {
    auto it = d.annotations.find(spec::kAnnotationRefName);
    if (it == d.annotations.end()) return "";
    // A full reference (what the berth store and podman write) names the image; a bare tag
    // ("latest", as `skopeo copy ... oci:D:latest` writes) does not.
    if (it->second.find_first_of("/:") == std::string::npos) return "";
    return it->second;
}

Result<Staged> find_in_layout(const std::string& dir, const std::string& ref) {
    auto index = TRY(read_layout_index(dir));
    Staged s;
    s.top = TRY(pick_from_index(index, ref, "oci layout '" + dir + "'"));
    s.name = ref_name_hint(s.top);
    s.top.annotations.erase(spec::kAnnotationRefName);
    return s;
}

Result<Staged> stage_from_layout(const std::string& dir, const std::string& ref, Store& staging,
                                 const CopyOptions& opts) {
    Staged s = TRY(find_in_layout(dir, ref));
    LayoutSource src(dir);
    s.top = TRY(stage_tree(src, s.top, staging, opts));
    return s;
}

Status write_layout(const Store& from, bool movable, const spec::Descriptor& top,
                    const std::string& dir, const std::string& ref) {
    std::string what = "oci layout '" + dir + "'";
    bool fresh = !path_exists(dir + "/index.json");
    spec::Index index;
    if (!fresh) {
        index = TRY(read_layout_index(dir));
    } else if (path_exists(dir) && ::rmdir(dir.c_str()) < 0) {
        // Only an empty directory (removed here, made again below) may become a new layout:
        // never mix blobs into someone's files.
        return error(what + ": exists and is neither an OCI layout nor empty");
    }
    auto blobs = TRY(reachable(from, top));
    // A layout this copy creates is removed again if the copy fails half-way.
    struct Undo {
        std::string dir;
        bool armed;
        ~Undo() {
            if (armed) (void)remove_all(dir);
        }
    } undo{dir, fresh};
    TRY_CTX(mkdir_p(dir + "/blobs/sha256"), what);
    for (const auto& b : blobs)
        TRY_CTX(transfer_blob(from, movable, b, blob_file(dir, b.digest)), what);
    if (fresh)
        TRY_CTX(write_file_atomic(dir + "/oci-layout", spec::to_json(spec::Layout{}).dump()), what);
    // index.json last: until it names the image, the new blobs are unreferenced and harmless.
    spec::Descriptor d = top;
    d.annotations.erase(spec::kAnnotationRefName);
    if (!ref.empty()) d.annotations[spec::kAnnotationRefName] = ref;
    std::erase_if(index.manifests, [&](const spec::Descriptor& m) {
        auto it = m.annotations.find(spec::kAnnotationRefName);
        if (ref.empty()) return it == m.annotations.end() && m.digest == d.digest;
        return it != m.annotations.end() && it->second == ref;
    });
    index.manifests.push_back(d);
    index.schema_version = 2;
    if (index.media_type.empty()) index.media_type = spec::kMediaTypeOciIndex;
    TRY_CTX(write_file_atomic(dir + "/index.json", spec::to_json(index).dump()), what);
    undo.armed = false;
    return ok();
}

}  // namespace berth::image::transport
