// oci-archive:FILE[:REF], a tar of an OCI image layout, as a copy source and destination.
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "imagetool/layer/tar_reader.hpp"
#include "imagetool/transport/tar_write.hpp"
#include "imagetool/transport/transport.hpp"

namespace berth::image::transport {

Result<Staged> stage_from_oci_archive(const std::string& file, const std::string& ref,
                                      Store& staging, const CopyOptions& opts) {
    std::string what = "oci-archive '" + file + "'";
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + file + "'");
    auto stream = layer::fd_stream(fd.get());
    auto tr = TRY_CTX(layer::TarReader::open(stream.get(), layer::Limits{}), what);
    std::optional<std::string> index_text, layout_text;
    layer::Entry e;
    for (;;) {
        bool more = TRY_CTX(tr->next(e), what);
        if (!more) break;
        std::string name = clean_name(e.name);
        if (name == "index.json" || name == "oci-layout") {
            if (e.type != layer::EntryType::file || e.size > int64_t(64u << 20))
                return error(what + ": " + name + " is not a regular file of sane size");
            std::string text;
            TRY_CTX(tr->read_data([&](int64_t, const void* p, size_t n) -> Status {
                text.append(static_cast<const char*>(p), n);
                return ok();
            }),
                    what + ": " + name);
            (name == "index.json" ? index_text : layout_text) = std::move(text);
            continue;
        }
        if (name.rfind("blobs/", 0) != 0 || e.type == layer::EntryType::dir) continue;
        // blobs/<alg>/<hex>: the name is the digest, and the content is checked against it.
        std::string rest = name.substr(6);
        size_t slash = rest.find('/');
        if (slash == std::string::npos) continue;
        auto digest = spec::Digest::parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
        if (!digest) return error(what + ": " + name + ": not a blob name");
        if (e.type != layer::EntryType::file)
            return error(what + ": " + name + ": not a regular file");
        if (staging.has_blob(*digest)) continue;
        spec::Descriptor d;
        d.digest = *digest;
        d.size = e.size;
        auto w = TRY(staging.create_blob(d));
        TRY_CTX(tr->read_data([&](int64_t, const void* p, size_t n) { return w.write(p, n); }),
                what + ": " + name);
        TRY_CTX(w.commit(""), what + ": " + name);
    }
    if (!layout_text) return error(what + ": no oci-layout file");
    TRY_CTX(spec::parse_layout(*layout_text), what + ": oci-layout");
    if (!index_text) return error(what + ": no index.json");
    auto index = TRY_CTX(spec::parse_index(*index_text), what + ": index.json");
    auto top = TRY(pick_from_index(index, ref, what));
    std::string name = ref_name_hint(top);
    top.annotations.erase(spec::kAnnotationRefName);
    Staged s;
    s.top = TRY_CTX(narrow(staging, top, opts), what);
    TRY_CTX(reachable(staging, s.top), what);
    s.name = name;
    return s;
}

Status write_oci_archive(const Store& from, const spec::Descriptor& top, const std::string& file,
                         const std::string& ref) {
    std::string what = "oci-archive '" + file + "'";
    auto blobs = TRY(reachable(from, top));
    auto tar = TRY_CTX(TarFile::create(file), what);
    TRY_CTX(tar->add_bytes("oci-layout", spec::to_json(spec::Layout{}).dump()), what);
    TRY_CTX(tar->add_dir("blobs/"), what);
    TRY_CTX(tar->add_dir("blobs/sha256/"), what);
    for (const auto& b : blobs) {
        auto r = TRY(from.open_blob(b));
        TRY_CTX(tar->add_stream("blobs/" + b.digest.algorithm + "/" + b.digest.hex, b.size,
                                [&](void* p, size_t n) { return r.read(p, n); }),
                what);
    }
    spec::Index index;
    index.schema_version = 2;
    index.media_type = spec::kMediaTypeOciIndex;
    spec::Descriptor d = top;
    d.annotations.erase(spec::kAnnotationRefName);
    if (!ref.empty()) d.annotations[spec::kAnnotationRefName] = ref;
    index.manifests.push_back(d);
    TRY_CTX(tar->add_bytes("index.json", spec::to_json(index).dump()), what);
    return tar->commit().context(what);
}

}  // namespace berth::image::transport
