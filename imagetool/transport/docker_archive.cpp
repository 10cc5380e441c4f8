// docker-archive:FILE[:NAME:TAG], the `docker save` format, as a copy source and destination.
//
// The format has no registry manifest: manifest.json lists, per image, the config file, its
// tags and one tar per layer (uncompressed as Docker and podman write them). Reading one
// therefore builds a new OCI manifest whose layer digests are those of the tars found;
// writing one decompresses every layer and checks it against the config's diff_ids.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/file.hpp"
#include "imagetool/digest.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/layer/tar_reader.hpp"
#include "imagetool/store/blob_stream.hpp"
#include "imagetool/transport/tar_write.hpp"
#include "imagetool/transport/transport.hpp"

namespace berth::image::transport {

namespace {

// A symlink target relative to the link's directory, normalised ("a/../b/x" -> "b/x").
std::string resolve_link(const std::string& link_path, const std::string& target) {
    std::vector<std::string> parts;
    std::string base = target.starts_with('/') ? "" : link_path.substr(0, link_path.rfind('/') + 1);
    std::string all = base + target;
    size_t i = 0;
    while (i <= all.size()) {
        size_t j = all.find('/', i);
        if (j == std::string::npos) j = all.size();
        std::string p = all.substr(i, j - i);
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!p.empty() && p != ".") {
            parts.push_back(p);
        }
        i = j + 1;
    }
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : "/") + p;
    return out;
}

Result<spec::Digest> uncompressed_digest(const Store& store, const spec::Descriptor& d,
                                         const std::string& media_type, int out_fd,
                                         int64_t* out_size) {
    auto blob = std::make_unique<BlobStream>(TRY(store.open_blob(d)));
    BlobReader& r = blob->reader();  // lives as long as `tar`, which owns the stream
    auto tar = TRY(layer::open_layer_stream(std::move(blob), media_type, 0));
    Hasher h;
    std::vector<char> buf(1 << 20);
    int64_t size = 0;
    for (;;) {
        size_t n = TRY(tar->read(buf.data(), buf.size()));
        if (n == 0) break;
        h.update(buf.data(), n);
        if (out_fd >= 0) TRY(write_all(out_fd, std::string_view(buf.data(), n)));
        size += int64_t(n);
    }
    // Decompressors may stop at the end of their stream: read the rest so the blob's own
    // digest is checked too.
    TRY(r.verify_all());
    if (out_size) *out_size = size;
    return h.finish();
}

const nlohmann::json* member(const nlohmann::json& o, const char* key) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
}

}  // namespace

Result<Staged> stage_from_docker_archive(const std::string& file, const std::string& ref,
                                         Store& staging, std::vector<std::string>& notes) {
    std::string what = "docker-archive '" + file + "'";
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + file + "'");
    auto stream = layer::fd_stream(fd.get());
    auto tr = TRY_CTX(layer::TarReader::open(stream.get(), layer::Limits{}), what);
    std::map<std::string, spec::Descriptor> files;
    std::map<std::string, std::string> links;  // docker save links repeated layers
    layer::Entry e;
    for (;;) {
        bool more = TRY_CTX(tr->next(e), what);
        if (!more) break;
        std::string name = clean_name(e.name);
        if (e.type == layer::EntryType::symlink) {
            links[name] = resolve_link(name, e.link);
        } else if (e.type == layer::EntryType::hardlink) {
            links[name] = clean_name(e.link);
        } else if (e.type == layer::EntryType::file) {
            auto w = TRY(staging.create_blob());
            TRY_CTX(tr->read_data([&](int64_t, const void* p, size_t n) { return w.write(p, n); }),
                    what + ": " + name);
            files[name] = TRY_CTX(w.commit(""), what + ": " + name);
        }
    }
    auto find = [&](const std::string& path, const std::string& field) -> Result<spec::Descriptor> {
        std::string p = clean_name(path);
        for (int hops = 0; hops < 16; hops++) {
            if (auto it = files.find(p); it != files.end()) return it->second;
            auto l = links.find(p);
            if (l == links.end()) break;
            p = l->second;
        }
        return error(what + ": manifest.json: " + field + ": '" + path + "' is not in the archive");
    };
    auto mdesc = TRY(find("manifest.json", "file"));
    auto mtext = TRY_CTX(staging.read_blob(mdesc), what + ": manifest.json");
    auto mj = nlohmann::json::parse(mtext, nullptr, false);
    if (mj.is_discarded() || !mj.is_array() || mj.empty())
        return error(what + ": manifest.json: not a non-empty JSON array");

    // The image: the one whose RepoTags hold ref, or the only one.
    std::optional<size_t> pick;
    std::string want;
    if (!ref.empty()) want = TRY_CTX(Reference::parse(ref), what).str();
    for (size_t i = 0; i < mj.size(); i++) {
        if (want.empty()) break;
        const auto* tags = member(mj[i], "RepoTags");
        if (!tags || !tags->is_array()) continue;
        for (const auto& t : *tags)
            if (t.is_string())
                if (auto r = Reference::parse(t.get<std::string>()); r && r->str() == want)
                    pick = i;
    }
    if (!want.empty() && !pick) return error(what + ": no image tagged '" + ref + "'");
    if (!pick && mj.size() > 1)
        return error(what + ": holds " + std::to_string(mj.size()) +
                     " images: name one as docker-archive:PATH:NAME:TAG");
    size_t idx = pick.value_or(0);
    const auto& entry = mj[idx];
    std::string at = "[" + std::to_string(idx) + "]";
    const auto* config_path = member(entry, "Config");
    const auto* layers = member(entry, "Layers");
    if (!config_path || !config_path->is_string())
        return error(what + ": manifest.json" + at + ".Config: missing or not a string");
    if (!layers || !layers->is_array())
        return error(what + ": manifest.json" + at + ".Layers: missing or not an array");

    spec::Manifest m;
    m.media_type = spec::kMediaTypeOciManifest;
    m.config = TRY(find(config_path->get<std::string>(), at + ".Config"));
    m.config.media_type = spec::kMediaTypeOciConfig;
    std::string cfg_file = config_path->get<std::string>();
    std::string base = cfg_file.substr(cfg_file.rfind('/') + 1);
    if (base.size() == 69 && base.substr(64) == ".json" &&
        base.substr(0, 64) != m.config.digest.hex)
        return error(what + ": " + cfg_file + ": content has digest " + m.config.digest.str());
    auto ctext = TRY_CTX(staging.read_blob(m.config, 64u << 20), what + ": " + cfg_file);
    auto config = TRY_CTX(spec::parse_image_config(ctext), what + ": " + cfg_file);
    if (config.rootfs.diff_ids.size() != layers->size())
        return error(what + ": " + cfg_file + ": " + std::to_string(config.rootfs.diff_ids.size()) +
                     " diff_ids for " + std::to_string(layers->size()) + " layers");
    for (size_t i = 0; i < layers->size(); i++) {
        std::string field = at + ".Layers[" + std::to_string(i) + "]";
        if (!(*layers)[i].is_string())
            return error(what + ": manifest.json" + field + ": not a string");
        std::string path = (*layers)[i].get<std::string>();
        auto d = TRY(find(path, field));
        // The bytes decide: Docker and podman write plain tars, older tools gzip.
        auto r = TRY(staging.open_blob(d));
        unsigned char head[4] = {};
        size_t got = 0;
        while (got < sizeof head) {
            size_t n = TRY(r.read(head + got, sizeof head - got));
            if (n == 0) break;
            got += n;
        }
        auto c = layer::sniff_compression(head, got);
        d.media_type = c == layer::Compression::gzip   ? spec::kMediaTypeOciLayerGzip
                       : c == layer::Compression::zstd ? spec::kMediaTypeOciLayerZstd
                                                       : spec::kMediaTypeOciLayer;
        spec::Digest diff = d.digest;
        if (c != layer::Compression::none)
            diff = TRY_CTX(uncompressed_digest(staging, d, d.media_type, -1, nullptr),
                           what + ": " + path);
        if (diff != config.rootfs.diff_ids[i])
            return error(what + ": " + path + ": content has digest " + diff.str() + " but " +
                         cfg_file + " rootfs.diff_ids[" + std::to_string(i) + "] is " +
                         config.rootfs.diff_ids[i].str());
        m.layers.push_back(d);
    }
    auto top = TRY(staging.put_blob(spec::to_json(m).dump(), spec::kMediaTypeOciManifest));
    top.platform = spec::Platform{config.architecture, config.os,      config.os_version,
                                  config.os_features,  config.variant, {}};
    Staged s;
    s.top = top;
    if (const auto* tags = member(entry, "RepoTags"); tags && tags->is_array() && !tags->empty()) {
        if (!want.empty())
            s.name = want;
        else if ((*tags)[0].is_string())
            s.name = (*tags)[0].get<std::string>();
        if (want.empty())
            for (size_t i = 1; i < tags->size(); i++)
                if ((*tags)[i].is_string()) s.aliases.push_back((*tags)[i].get<std::string>());
    }
    notes.push_back(what + " carries no registry manifest: made an OCI manifest " +
                    top.digest.str() + " with digests computed from the archive's files");
    return s;
}

Status write_docker_archive(const Store& from, const spec::Descriptor& top, const std::string& file,
                            const std::string& name) {
    std::string what = "docker-archive '" + file + "'";
    auto body = TRY_CTX(from.read_blob(top), "manifest " + top.digest.str());
    auto kind =
        TRY_CTX(spec::classify_manifest(body, top.media_type), "manifest " + top.digest.str());
    if (spec::is_index_kind(kind))
        return error(what + ": holds one platform's image: copy with --platform, not --all");
    auto m = TRY_CTX(spec::parse_manifest(body), "manifest " + top.digest.str());
    auto config = TRY(from.read_config(m));
    std::string tag;
    std::string repo;
    if (!name.empty()) {
        auto r = TRY_CTX(Reference::parse(name), what);
        if (!r.tag.empty()) {
            repo = r.name();
            tag = r.tag;
        }
    }

    auto tar = TRY_CTX(TarFile::create(file), what);
    std::string config_name = m.config.digest.hex + ".json";
    {
        auto r = TRY(from.open_blob(m.config));
        TRY_CTX(tar->add_stream(config_name, m.config.size,
                                [&](void* p, size_t n) { return r.read(p, n); }),
                what);
    }
    // Layer directories are named by chain ID, as Docker's v1 layer IDs were: unique per
    // position even when two layers have the same content.
    nlohmann::json layer_paths = nlohmann::json::array();
    std::string chain;
    size_t slash = file.rfind('/');
    std::string dir = slash == std::string::npos ? "." : file.substr(0, slash);
    if (dir.empty()) dir = "/";
    for (size_t i = 0; i < m.layers.size(); i++) {
        const auto& l = m.layers[i];
        const auto& diff = config.rootfs.diff_ids[i];
        chain = chain.empty() ? diff.hex : sha256_of("sha256:" + chain + " " + diff.str()).hex;
        // The tar needs each file's size before its bytes: decompress to an unlinked file.
        int raw = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (raw < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
            // No O_TMPFILE on this filesystem: a named temporary file, unlinked at once.
            std::string tmpl = dir + "/.berth-layer-XXXXXX";
            raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
            if (raw >= 0) ::unlink(tmpl.c_str());
        }
        if (raw < 0) return sys_error(what + ": temporary file in '" + dir + "'");
        UniqueFd tmp(raw);
        int64_t size = 0;
        auto got = TRY_CTX(uncompressed_digest(from, l, l.media_type, raw, &size),
                           "layer " + l.digest.str());
        if (got != diff)
            return error("layer " + l.digest.str() + ": uncompressed digest " + got.str() +
                         " does not match config rootfs.diff_ids[" + std::to_string(i) + "] " +
                         diff.str());
        if (::lseek(raw, 0, SEEK_SET) < 0) return sys_error("seek temporary layer");
        std::string path = chain + "/layer.tar";
        TRY_CTX(tar->add_dir(chain + "/"), what);
        TRY_CTX(tar->add_bytes(chain + "/VERSION", "1.0"), what);
        TRY_CTX(tar->add_stream(path, size,
                                [&](void* p, size_t n) -> Result<size_t> {
                                    ssize_t k;
                                    do {
                                        k = ::read(raw, p, n);
                                    } while (k < 0 && errno == EINTR);
                                    if (k < 0) return sys_error("read temporary layer");
                                    return size_t(k);
                                }),
                what);
        layer_paths.push_back(path);
    }
    nlohmann::json entry = {
        {"Config", config_name}, {"RepoTags", nlohmann::json::array()}, {"Layers", layer_paths}};
    if (!tag.empty()) entry["RepoTags"].push_back(repo + ":" + tag);
    TRY_CTX(tar->add_bytes("manifest.json", nlohmann::json::array({entry}).dump()), what);
    if (!tag.empty() && !chain.empty()) {
        nlohmann::json repos = {{repo, {{tag, chain}}}};
        TRY_CTX(tar->add_bytes("repositories", repos.dump()), what);
    }
    return tar->commit().context(what);
}

}  // namespace berth::image::transport
