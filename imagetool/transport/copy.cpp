// copy: parsing transport names, staging a tree of blobs, and handing it to the destination.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>
#include "base/file.hpp"

#include "imagetool/layer/tar_reader.hpp"
#include "imagetool/parallel.hpp"
#include "imagetool/registry/push.hpp"
#include "imagetool/transport/transport.hpp"

namespace berth::image::transport {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

// "PATH[:REF]" split at the first ':' (skopeo's rule: paths with ':' are not expressible).
void split_path(std::string_view rest, Location& loc) {
    size_t colon = rest.find(':');
    loc.path = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) loc.ref = std::string(rest.substr(colon + 1));
}

bool is_index_media(const std::string& mt) {
    return mt == spec::kMediaTypeOciIndex || mt == spec::kMediaTypeDockerManifestList;
}

Status put_document(Store& to, const std::string& body, const spec::Descriptor& d) {
    auto got = TRY(to.put_blob(body, d.media_type));
    if (got.digest != d.digest)
        return error("manifest " + d.digest.str() + ": content has digest " + got.digest.str());
    return ok();
}

// Copies blobs with up to `jobs` at once (sources are safe to call from several threads).
Status copy_blobs(BlobSource& src, const std::vector<spec::Descriptor>& blobs, Store& to,
                  int jobs) {
    return run_parallel(blobs.size(), jobs, [&](size_t i) { return src.copy_blob(blobs[i], to); });
}

Result<spec::Descriptor> stage_manifest(BlobSource& src, const spec::Descriptor& d,
                                        const std::string& body, Store& to,
                                        const CopyOptions& opts) {
    auto m = TRY_CTX(spec::parse_manifest(body), "manifest " + d.digest.str());
    // The config first: small, and a bad one stops the copy before the layers.
    TRY(src.copy_blob(m.config, to));
    TRY(copy_blobs(src, m.layers, to, opts.jobs));
    TRY(put_document(to, body, d));
    return d;
}

// Guards a staging directory: removed when the copy ends, whatever happened.
struct TempDir {
    std::string path;
    ~TempDir() {
        if (!path.empty()) (void)remove_all(path);
    }
};

}  // namespace

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::registry:
            return "docker";
        case Kind::layout:
            return "oci";
        case Kind::oci_archive:
            return "oci-archive";
        case Kind::docker_archive:
            return "docker-archive";
        case Kind::store:
            return "berth";
    }
    return "?";
}

Result<Location> parse_location(std::string_view text) {
    Location loc;
    loc.text = std::string(text);
    if (text.empty()) return error("empty image location");
    if (starts_with(text, "docker://")) {
        loc.kind = Kind::registry;
        loc.reference = TRY(Reference::parse(text.substr(9)));
        return loc;
    }
    struct Prefix {
        const char* name;
        Kind kind;
    };
    for (auto p : {Prefix{"oci:", Kind::layout}, Prefix{"oci-archive:", Kind::oci_archive},
                   Prefix{"docker-archive:", Kind::docker_archive}}) {
        if (!starts_with(text, p.name)) continue;
        loc.kind = p.kind;
        std::string_view rest = text.substr(std::string_view(p.name).size());
        if (p.kind == Kind::docker_archive) {
            // FILE[:NAME:TAG]: everything after the path is a reference, which has colons.
            size_t colon = rest.find(':');
            loc.path = std::string(rest.substr(0, colon));
            if (colon != std::string_view::npos) loc.ref = std::string(rest.substr(colon + 1));
        } else {
            split_path(rest, loc);
        }
        if (loc.path.empty()) return error("'" + loc.text + "': no path");
        return loc;
    }
    if (starts_with(text, "berth:")) {
        loc.kind = Kind::store;
        loc.ref = std::string(text.substr(6));
        if (loc.ref.empty()) return error("'" + loc.text + "': no image name");
        return loc;
    }
    for (const char* other :
         {"docker-daemon:", "containers-storage:", "dir:", "ostree:", "sif:", "docker:"}) {
        if (starts_with(text, other))
            return error("'" + loc.text + "': transport '" +
                         std::string(other, std::string_view(other).size() - 1) +
                         "' is not supported (docker://, oci:, oci-archive:, docker-archive:, "
                         "berth:)");
    }
    loc.kind = Kind::store;
    loc.ref = loc.text;
    return loc;
}

Result<spec::Descriptor> stage_tree(BlobSource& src, const spec::Descriptor& top, Store& to,
                                    const CopyOptions& opts) {
    std::string body = TRY(src.read_document(top));
    auto kind =
        TRY_CTX(spec::classify_manifest(body, top.media_type), "manifest " + top.digest.str());
    if (!spec::is_index_kind(kind)) return stage_manifest(src, top, body, to, opts);
    auto idx = TRY_CTX(spec::parse_index(body), "index " + top.digest.str());
    if (!opts.all) {
        auto chosen = TRY_CTX(spec::select_platform_manifest(idx, opts.platform),
                              "index " + top.digest.str());
        if (is_index_media(chosen.media_type))
            return error("index " + top.digest.str() + " points at another index");
        std::string child = TRY(src.read_document(chosen));
        return stage_manifest(src, chosen, child, to, opts);
    }
    for (const auto& m : idx.manifests) {
        if (is_index_media(m.media_type))
            return error("index " + top.digest.str() + ": nested index " + m.digest.str() +
                         " is not supported");
        std::string child = TRY(src.read_document(m));
        TRY(stage_manifest(src, m, child, to, opts));
    }
    TRY(put_document(to, body, top));
    return top;
}

Result<spec::Descriptor> narrow(const Store& store, const spec::Descriptor& top,
                                const CopyOptions& opts) {
    auto body = TRY_CTX(store.read_blob(top), "manifest " + top.digest.str());
    auto kind =
        TRY_CTX(spec::classify_manifest(body, top.media_type), "manifest " + top.digest.str());
    if (!spec::is_index_kind(kind) || opts.all) return top;
    auto idx = TRY_CTX(spec::parse_index(body), "index " + top.digest.str());
    return spec::select_platform_manifest(idx, opts.platform).context("index " + top.digest.str());
}

Result<std::vector<spec::Descriptor>> reachable(const Store& store, const spec::Descriptor& top) {
    std::vector<spec::Descriptor> out;
    std::set<spec::Digest> seen;
    auto add = [&](const spec::Descriptor& d, const std::string& what) -> Status {
        if (!store.has_blob(d.digest))
            return error(what + " " + d.digest.str() + " is not in the source");
        if (seen.insert(d.digest).second) out.push_back(d);
        return ok();
    };
    auto manifest = [&](const spec::Descriptor& d, const std::string& body) -> Status {
        auto m = TRY_CTX(spec::parse_manifest(body), "manifest " + d.digest.str());
        TRY(add(m.config, "config"));
        for (const auto& l : m.layers)
            TRY(add(l, "layer"));
        return add(d, "manifest");
    };
    auto body = TRY_CTX(store.read_blob(top), "manifest " + top.digest.str());
    auto kind =
        TRY_CTX(spec::classify_manifest(body, top.media_type), "manifest " + top.digest.str());
    if (!spec::is_index_kind(kind)) {
        TRY(manifest(top, body));
        return out;
    }
    auto idx = TRY_CTX(spec::parse_index(body), "index " + top.digest.str());
    for (const auto& m : idx.manifests) {
        if (is_index_media(m.media_type))
            return error("index " + top.digest.str() + ": nested index " + m.digest.str() +
                         " is not supported");
        auto child = TRY_CTX(store.read_blob(m), "manifest " + m.digest.str());
        TRY(manifest(m, child));
    }
    TRY(add(top, "index"));
    return out;
}

Status transfer_blob(const Store& from, bool movable, const spec::Descriptor& d,
                     const std::string& dst) {
    if (path_exists(dst)) return ok();
    std::string src = from.blob_path(d.digest);
    size_t slash = dst.rfind('/');
    std::string dir = dst.substr(0, slash);
    TRY(mkdir_p(dir));
    if (movable) {
        // Staged blobs were verified when they were written.
        if (::rename(src.c_str(), dst.c_str()) == 0) return ok();
        if (errno != EXDEV)
            return sys_error("blob " + d.digest.str() + ": rename to '" + dst + "'");
    }
    auto r = TRY(from.open_blob(d));
    std::string tmp = dir + "/.tmp-XXXXXX";
    int raw = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (raw < 0) return sys_error("create temporary file in '" + dir + "'");
    UniqueFd fd(raw);
    ::fchmod(raw, 0644);
    auto fail = [&](Error e) {
        ::unlink(tmp.c_str());
        return e;
    };
    std::vector<char> buf(1 << 20);
    for (;;) {
        auto n = r.read(buf.data(), buf.size());
        if (!n) return fail(n.error());
        if (*n == 0) break;
        if (auto st = write_all(raw, std::string_view(buf.data(), *n)); !st)
            return fail(st.error().with_context("write '" + tmp + "'"));
    }
    if (::fsync(raw) < 0) return fail(sys_error("fsync '" + tmp + "'"));
    if (::rename(tmp.c_str(), dst.c_str()) < 0) return fail(sys_error("rename to '" + dst + "'"));
    return ok();
}

Result<CopyResult> copy_image(Store& store, const Location& src, const Location& dst,
                              const CopyOptions& opts) {
    auto lock = TRY(store.shared());
    CopyResult res;
    TempDir staging_dir;
    std::optional<Store> staging;
    const Store* from = &store;
    bool movable = false;
    Staged staged;
    std::optional<Store> layout_view;
    bool same_registry = src.kind == Kind::registry && dst.kind == Kind::registry &&
                         src.reference.registry == dst.reference.registry;
    // Blobs a same-registry copy could not mount come from the source repository.
    std::unique_ptr<RegistryClient> src_client;
    if (same_registry)
        src_client = std::make_unique<RegistryClient>(src.reference.registry, opts.src_registry);
    if (src.kind == Kind::store) {
        staged.top = TRY(store.lookup(src.ref));
        if (auto r = Reference::parse(src.ref)) staged.name = r->str();
        staged.top = TRY(narrow(store, staged.top, opts));
    } else if (src.kind == Kind::layout && dst.kind == Kind::registry) {
        staged = TRY(find_in_layout(src.path, src.ref));
        layout_view = Store::view(src.path);
        staged.top =
            TRY_CTX(narrow(*layout_view, staged.top, opts), "oci layout '" + src.path + "'");
        from = &*layout_view;
    } else {
        std::string tmpl = store.tmp_dir() + "/copy-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            return sys_error("create staging directory in '" + store.tmp_dir() + "'");
        staging_dir.path = tmpl;
        staging = TRY(Store::open(tmpl));
        switch (src.kind) {
            case Kind::registry:
                staged = TRY(stage_from_registry(src.reference, *staging, opts, same_registry));
                break;
            case Kind::layout:
                staged = TRY(stage_from_layout(src.path, src.ref, *staging, opts));
                break;
            case Kind::oci_archive:
                staged = TRY(stage_from_oci_archive(src.path, src.ref, *staging, opts));
                break;
            case Kind::docker_archive:
                staged = TRY(stage_from_docker_archive(src.path, src.ref, *staging, res.notes));
                break;
            case Kind::store:
                break;
        }
        from = &*staging;
        movable = true;
    }
    staged.top.annotations.erase(spec::kAnnotationRefName);
    res.top = staged.top;

    switch (dst.kind) {
        case Kind::registry: {
            PushOptions po;
            po.registry = opts.dst_registry;
            po.jobs = opts.jobs;
            // Mount sources: what the berth store knows of the destination's registry, first
            // the repository the source itself names there (a docker:// source or a store
            // image's name).
            std::string preferred;
            if (src.kind == Kind::registry && src.reference.registry == dst.reference.registry)
                preferred = src.reference.repository;
            else if (auto r = Reference::parse(staged.name);
                     r && r->registry == dst.reference.registry)
                preferred = r->repository;
            po.mount_from = preferred;
            if (same_registry)
                po.fetch_missing = [&](const spec::Descriptor& d) {
                    return src_client->fetch_blob(src.reference.repository, d, *staging);
                };
            TRY(push_descriptor(*from, staged.top, dst.reference, po, nullptr,
                                mount_hints(store, dst.reference, preferred)));
            break;
        }
        case Kind::layout:
            TRY(write_layout(*from, movable, staged.top, dst.path, dst.ref));
            break;
        case Kind::oci_archive:
            TRY(write_oci_archive(*from, staged.top, dst.path, dst.ref));
            break;
        case Kind::docker_archive: {
            std::string name = dst.ref.empty() ? staged.name : dst.ref;
            TRY(write_docker_archive(*from, staged.top, dst.path, name));
            break;
        }
        case Kind::store: {
            std::string name = dst.ref.empty() ? staged.name : dst.ref;
            if (name.empty())
                return error(
                    "the source does not name the image: give the destination as "
                    "berth:NAME[:TAG]");
            auto ref = TRY_CTX(Reference::parse(name), "destination");
            if (from != &store) {
                auto blobs = TRY(reachable(*from, staged.top));
                for (const auto& b : blobs)
                    TRY(transfer_blob(*from, movable, b, store.blob_path(b.digest)));
            }
            // As pull does: a manifest's entry records its platform (an index's children
            // carry their own).
            if (!staged.top.platform) {
                auto m = store.read_manifest(staged.top);
                if (m)
                    if (auto c = store.read_config(*m))
                        staged.top.platform = spec::Platform{
                            c->architecture, c->os, c->os_version, c->os_features, c->variant, {}};
            }
            TRY(store.set_name(ref.str(), staged.top));
            if (dst.ref.empty())
                for (const auto& alias : staged.aliases) {
                    auto a = TRY_CTX(Reference::parse(alias), "RepoTags");
                    TRY(store.set_name(a.str(), staged.top));
                }
            break;
        }
    }
    return res;
}

Result<std::vector<std::string>> archive_images(const std::string& file, Kind kind) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + file + "'");
    auto stream = layer::fd_stream(fd.get());
    auto tr = TRY_CTX(layer::TarReader::open(stream.get(), layer::Limits{}), "'" + file + "'");
    std::string want = kind == Kind::oci_archive ? "index.json" : "manifest.json";
    layer::Entry e;
    for (;;) {
        bool more = TRY_CTX(tr->next(e), "'" + file + "'");
        if (!more) break;
        std::string_view n = e.name;
        while (starts_with(n, "./"))
            n.remove_prefix(2);
        if (n != want || e.type != layer::EntryType::file) continue;
        if (e.size > int64_t(kMaxSmallBlob)) return error("'" + file + "': " + want + " too large");
        std::string text;
        TRY_CTX(tr->read_data([&](int64_t, const void* p, size_t len) -> Status {
            text.append(static_cast<const char*>(p), len);
            return ok();
        }),
                "'" + file + "': " + want);
        std::vector<std::string> out;
        if (kind == Kind::oci_archive) {
            auto idx = TRY_CTX(spec::parse_index(text), "'" + file + "': index.json");
            for (const auto& m : idx.manifests) {
                auto it = m.annotations.find(spec::kAnnotationRefName);
                out.push_back(it == m.annotations.end() ? "" : it->second);
            }
            return out;
        }
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (!j.is_array()) return error("'" + file + "': manifest.json: not a JSON array");
        for (const auto& img : j) {
            std::string first;
            if (img.is_object() && img.contains("RepoTags") && img["RepoTags"].is_array() &&
                !img["RepoTags"].empty() && img["RepoTags"][0].is_string())
                first = img["RepoTags"][0].get<std::string>();
            out.push_back(first);
        }
        return out;
    }
    return error("'" + file + "': no " + want);
}

Result<Kind> detect_archive(const std::string& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + file + "'");
    auto stream = layer::fd_stream(fd.get());
    auto tr = TRY_CTX(layer::TarReader::open(stream.get(), layer::Limits{}), "'" + file + "'");
    bool index = false, manifest = false, layout = false;
    layer::Entry e;
    for (;;) {
        bool more = TRY_CTX(tr->next(e), "'" + file + "'");
        if (!more) break;
        std::string_view n = e.name;
        while (starts_with(n, "./"))
            n.remove_prefix(2);
        if (n == "index.json") index = true;
        if (n == "oci-layout") layout = true;
        if (n == "manifest.json") manifest = true;
    }
    // Docker 25 writes both: its OCI side keeps the digests, so it wins.
    if (index && layout) return Kind::oci_archive;
    if (manifest) return Kind::docker_archive;
    return error("'" + file +
                 "' is neither an oci-archive (index.json, oci-layout) nor a "
                 "docker-archive (manifest.json)");
}

}  // namespace berth::image::transport
