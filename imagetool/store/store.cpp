// The OCI layout store: opening, locks, blobs, index.json, names and image resolution.
#include "imagetool/store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file.hpp"
#include "imagetool/reference.hpp"

namespace berth::image {

namespace {

Status fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + dir + "'");
    if (::fsync(fd.get()) < 0) return sys_error("fsync '" + dir + "'");
    return ok();
}

Result<StoreLock> take_lock(const std::string& path, int op) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return sys_error("open lock '" + path + "'");
    while (::flock(fd.get(), op) < 0) {
        if (errno != EINTR) return sys_error("lock '" + path + "'");
    }
    return StoreLock(std::move(fd));
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return !s.empty();
}

}  // namespace

Result<Store> Store::open(const std::string& dir_in) {
    std::string dir = dir_in;
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    std::string ctx = "store '" + dir + "'";
    TRY_CTX(mkdir_p(dir + "/blobs/sha256"), ctx);
    TRY_CTX(mkdir_p(dir + "/.berth/tmp", 0700), ctx);
    std::string layout = dir + "/oci-layout";
    if (path_exists(layout)) {
        auto text = TRY_CTX(read_file(layout, 4096), ctx);
        TRY_CTX(spec::parse_layout(text), ctx);
    } else {
        TRY_CTX(write_file_atomic(layout, spec::to_json(spec::Layout{}).dump()), ctx);
    }
    std::string index = dir + "/index.json";
    if (!path_exists(index)) {
        Store s(dir);
        auto lock = TRY_CTX(take_lock(dir + "/.berth/index.lock", LOCK_EX), ctx);
        if (!path_exists(index)) TRY_CTX(s.write_index(spec::Index{}), ctx);
    }
    return Store(dir);
}

std::string Store::blob_path(const spec::Digest& d) const {
    return dir_ + "/blobs/" + d.algorithm + "/" + d.hex;
}

std::string Store::tmp_dir() const {
    return dir_ + "/.berth/tmp";
}

std::string Store::partial_path(const spec::Digest& d) const {
    return tmp_dir() + "/partial-" + d.algorithm + "-" + d.hex;
}

Result<StoreLock> Store::shared() const {
    return take_lock(dir_ + "/.berth/lock", LOCK_SH);
}

Result<StoreLock> Store::exclusive() const {
    return take_lock(dir_ + "/.berth/lock", LOCK_EX);
}

bool Store::has_blob(const spec::Digest& d) const {
    struct stat st {};
    return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<BlobReader> Store::open_blob(const spec::Descriptor& d) const {
    std::string p = blob_path(d.digest);
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT) return error("blob " + d.digest.str() + " is missing");
        return sys_error("open blob " + d.digest.str());
    }
    return BlobReader(std::move(fd), d);
}

Result<std::string> Store::read_blob(const spec::Descriptor& d, size_t max) const {
    if (d.size < 0 || size_t(d.size) > max)
        return error("blob " + d.digest.str() + ": " + std::to_string(d.size) +
                     " bytes is over the limit of " + std::to_string(max));
    auto r = TRY(open_blob(d));
    std::string out(size_t(d.size), '\0');
    size_t off = 0;
    for (;;) {
        char extra[1];
        size_t n = off < out.size() ? TRY(r.read(out.data() + off, out.size() - off))
                                    : TRY(r.read(extra, 1));
        if (n == 0) break;
        off += n;
    }
    return out;
}

Result<BlobWriter> Store::create_blob(std::optional<spec::Descriptor> expected) {
    std::string tmpl = tmp_dir() + "/blob-XXXXXX";
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return sys_error("create temporary blob in '" + tmp_dir() + "'");
    ::fchmod(fd, 0644);
    return BlobWriter(dir_, tmpl, UniqueFd(fd), std::move(expected));
}

Result<spec::Descriptor> Store::put_blob(std::string_view data, const std::string& media_type) {
    spec::Descriptor d;
    d.media_type = media_type;
    d.digest = sha256_of(data);
    d.size = int64_t(data.size());
    if (has_blob(d.digest)) return d;
    auto w = TRY(create_blob(d));
    TRY(w.write(data));
    return w.commit(media_type);
}

Status Store::install_verified(const std::string& path, const spec::Digest& d) {
    std::string dst = blob_path(d);
    (void)::mkdir((dir_ + "/blobs/" + d.algorithm).c_str(), 0755);
    if (::rename(path.c_str(), dst.c_str()) < 0) return sys_error("rename to '" + dst + "'");
    return ok();
}

Result<spec::Index> Store::read_index() const {
    auto text = TRY_CTX(read_file(dir_ + "/index.json", 64u << 20), "store index");
    return spec::parse_index(text).context("store index.json");
}

Status Store::write_index(const spec::Index& index) {
    spec::Index x = index;
    x.schema_version = 2;
    if (x.media_type.empty()) x.media_type = spec::kMediaTypeOciIndex;
    TRY(write_file_atomic(dir_ + "/index.json", spec::to_json(x).dump() + "\n"));
    return fsync_dir(dir_);
}

Result<std::vector<ImageEntry>> Store::list() const {
    auto index = TRY(read_index());
    std::vector<ImageEntry> out;
    for (auto& d : index.manifests) {
        ImageEntry e;
        if (auto it = d.annotations.find(spec::kAnnotationRefName); it != d.annotations.end())
            e.name = it->second;
        e.descriptor = std::move(d);
        out.push_back(std::move(e));
    }
    return out;
}

Result<ImageEntry> Store::find(std::string_view name) const {
    auto entries = TRY(list());
    for (auto& e : entries)
        if (e.name == name) return std::move(e);
    return error("image not known");
}

Status Store::set_name(const std::string& name, const spec::Descriptor& desc) {
    auto lock = TRY(take_lock(dir_ + "/.berth/index.lock", LOCK_EX));
    auto index = TRY(read_index());
    spec::Descriptor d = desc;
    d.annotations[spec::kAnnotationRefName] = name;
    bool replaced = false;
    for (auto& m : index.manifests) {
        auto it = m.annotations.find(spec::kAnnotationRefName);
        if (it != m.annotations.end() && it->second == name) {
            m = d;
            replaced = true;
        }
    }
    if (!replaced) index.manifests.push_back(d);
    return write_index(index);
}

Status Store::remove_name(const std::string& name) {
    auto lock = TRY(take_lock(dir_ + "/.berth/index.lock", LOCK_EX));
    auto index = TRY(read_index());
    size_t before = index.manifests.size();
    std::erase_if(index.manifests, [&](const spec::Descriptor& m) {
        auto it = m.annotations.find(spec::kAnnotationRefName);
        return it != m.annotations.end() && it->second == name;
    });
    if (index.manifests.size() == before) return error("image not known");
    return write_index(index);
}

Result<spec::Descriptor> Store::select_platform(const spec::Descriptor& d,
                                                const spec::Platform& platform) const {
    if (d.media_type != spec::kMediaTypeOciIndex &&
        d.media_type != spec::kMediaTypeDockerManifestList)
        return d;
    auto text = TRY(read_blob(d));
    auto index = TRY_CTX(spec::parse_index(text), "index " + d.digest.str());
    return spec::select_platform_manifest(index, platform);
}

Result<spec::Descriptor> Store::resolve(std::string_view ref,
                                        const spec::Platform& platform) const {
    auto d = TRY(lookup_for(ref, &platform));
    return select_platform(d, platform);
}

Result<spec::Descriptor> Store::lookup(std::string_view ref) const {
    return lookup_for(ref, nullptr);
}

Result<spec::Descriptor> Store::lookup_for(std::string_view ref,
                                           const spec::Platform* platform) const {
    auto entries = TRY(list());
    std::optional<spec::Descriptor> found;
    // A full digest or a digest prefix names what index.json points at (or its platform
    // manifest); anything else is a reference, normalised, or a raw name other tools wrote.
    std::string_view hex = ref;
    if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
    if (hex.size() >= 12 && is_hex(hex)) {
        for (const auto& e : entries) {
            bool match = e.descriptor.digest.hex.compare(0, hex.size(), hex) == 0;
            if (!match) {
                if (!platform) continue;
                auto m = select_platform(e.descriptor, *platform);
                if (m && m->digest.hex.compare(0, hex.size(), hex) == 0) {
                    found = m.value();
                    break;
                }
                continue;
            }
            if (found && found->digest != e.descriptor.digest)
                return error("digest prefix '" + std::string(ref) + "' is ambiguous");
            found = e.descriptor;
        }
    }
    if (!found) {
        std::string want;
        if (auto r = Reference::parse(ref)) want = r->str();
        for (const auto& e : entries)
            if (e.name == want || e.name == ref) {
                found = e.descriptor;
                break;
            }
    }
    if (!found) return error("image not known");
    spec::Descriptor d = *found;
    d.annotations.erase(spec::kAnnotationRefName);
    return d;
}

Result<spec::Manifest> Store::read_manifest(const spec::Descriptor& d) const {
    auto text = TRY(read_blob(d));
    auto kind = TRY_CTX(spec::classify_manifest(text, d.media_type), "manifest " + d.digest.str());
    if (spec::is_index_kind(kind)) return error("manifest " + d.digest.str() + " is an index");
    return spec::parse_manifest(text).context("manifest " + d.digest.str());
}

Result<spec::ImageConfig> Store::read_config(const spec::Manifest& m) const {
    auto text = TRY(read_blob(m.config));
    auto c = spec::parse_image_config(text).context("config " + m.config.digest.str());
    if (!c) return c;
    if (c->rootfs.diff_ids.size() != m.layers.size())
        return error("config " + m.config.digest.str() + ": " +
                     std::to_string(c->rootfs.diff_ids.size()) + " diff_ids for " +
                     std::to_string(m.layers.size()) + " layers");
    return c;
}

Result<Image> Store::load_image(std::string_view ref, const spec::Platform& platform) const {
    Image img;
    img.manifest_descriptor = TRY(resolve(ref, platform));
    if (auto r = Reference::parse(ref)) img.name = r->str();
    img.manifest = TRY(read_manifest(img.manifest_descriptor));
    img.config_descriptor = img.manifest.config;
    img.config = TRY(read_config(img.manifest));
    return img;
}

Result<spec::Descriptor> Store::put_image(const std::string& name, const spec::ImageConfig& config,
                                          const std::vector<spec::Descriptor>& layers,
                                          const std::map<std::string, std::string>& annotations) {
    for (const auto& l : layers)
        if (!has_blob(l.digest)) return error("layer " + l.digest.str() + " not in the store");
    auto cfg = TRY(put_blob(spec::to_json(config).dump(), spec::kMediaTypeOciConfig));
    spec::Manifest m;
    m.media_type = spec::kMediaTypeOciManifest;
    m.config = cfg;
    m.layers = layers;
    m.annotations = annotations;
    auto md = TRY(put_blob(spec::to_json(m).dump(), spec::kMediaTypeOciManifest));
    md.platform = spec::Platform{config.architecture, config.os,      config.os_version,
                                 config.os_features,  config.variant, {}};
    TRY(set_name(name, md));
    return md;
}

}  // namespace berth::image
