// Strict reading and faithful writing of descriptors, manifests, indexes, configs and layouts.
#include <algorithm>

#include "spec/image.hpp"
#include "spec/image_json.hpp"

namespace berth::spec {

using jsonr::field_error;
using jsonr::index_path;
using jsonr::json;
using jsonr::key_path;

namespace {

Status read_platform(const json& v, const std::string& path, Platform& p) {
    TRY(jsonr::object(v, path));
    TRY(jsonr::str(v, "architecture", path, p.architecture, true));
    TRY(jsonr::str(v, "os", path, p.os, true));
    TRY(jsonr::str(v, "os.version", path, p.os_version));
    TRY(jsonr::str_list(v, "os.features", path, p.os_features));
    TRY(jsonr::str(v, "variant", path, p.variant));
    TRY(jsonr::str_list(v, "features", path, p.features));
    return ok();
}

Status read_digest(const json& obj, const char* key, const std::string& path, Digest& out) {
    std::string s;
    TRY(jsonr::str(obj, key, path, s, true));
    auto d = Digest::parse(s);
    if (!d) return field_error(key_path(path, key), d.error().message());
    out = std::move(d.value());
    return ok();
}

Status read_descriptor(const json& v, const std::string& path, Descriptor& d) {
    TRY(jsonr::object(v, path));
    TRY(jsonr::str(v, "mediaType", path, d.media_type, true));
    if (d.media_type.empty()) return field_error(key_path(path, "mediaType"), "empty");
    TRY(read_digest(v, "digest", path, d.digest));
    TRY(jsonr::i64(v, "size", path, d.size, true));
    if (d.size < 0) return field_error(key_path(path, "size"), "negative");
    TRY(jsonr::str_list(v, "urls", path, d.urls));
    TRY(jsonr::str_map(v, "annotations", path, d.annotations));
    TRY(jsonr::str(v, "artifactType", path, d.artifact_type));
    if (const json* p = jsonr::member(v, "platform")) {
        Platform pl;
        TRY(read_platform(*p, key_path(path, "platform"), pl));
        d.platform = std::move(pl);
    }
    if (const json* data = jsonr::member(v, "data")) {
        if (!data->is_string()) return field_error(key_path(path, "data"), "expected string");
        d.data = data->get<std::string>();
    }
    return ok();
}

Status read_descriptors(const json& obj, const char* key, const std::string& path,
                        std::vector<Descriptor>& out, bool required) {
    const json* v = jsonr::member(obj, key);
    std::string p = key_path(path, key);
    if (!v) return required ? field_error(p, "required field missing") : ok();
    if (!v->is_array()) return field_error(p, "expected array");
    for (size_t i = 0; i < v->size(); i++) {
        Descriptor d;
        TRY(read_descriptor((*v)[i], index_path(p, i), d));
        out.push_back(std::move(d));
    }
    return ok();
}

Status read_schema_version(const json& v, int& out) {
    int64_t sv = 0;
    TRY(jsonr::i64(v, "schemaVersion", "", sv, true));
    if (sv != 2) return field_error("schemaVersion", "must be 2, not " + std::to_string(sv));
    out = 2;
    return ok();
}

Status read_subject(const json& v, std::optional<Descriptor>& out) {
    if (const json* s = jsonr::member(v, "subject")) {
        Descriptor d;
        TRY(read_descriptor(*s, "subject", d));
        out = std::move(d);
    }
    return ok();
}

template <typename T, typename F>
Result<T> parse_with(const std::string& text, const char* what, F fill) {
    auto j = TRY(jsonr::parse(text, what));
    T out;
    Status st = fill(j, out);
    if (!st) return std::move(st).error().with_context(what);
    return out;
}

Status fill_manifest(const json& v, Manifest& m) {
    TRY(jsonr::object(v, ""));
    TRY(read_schema_version(v, m.schema_version));
    TRY(jsonr::str(v, "mediaType", "", m.media_type));
    if (!m.media_type.empty() && m.media_type != kMediaTypeOciManifest &&
        m.media_type != kMediaTypeDockerManifest)
        return field_error("mediaType", "'" + m.media_type + "' is not an image manifest");
    TRY(jsonr::str(v, "artifactType", "", m.artifact_type));
    const json* c = jsonr::member(v, "config");
    if (!c) return field_error("config", "required field missing");
    TRY(read_descriptor(*c, "config", m.config));
    TRY(read_descriptors(v, "layers", "", m.layers, true));
    TRY(read_subject(v, m.subject));
    TRY(jsonr::str_map(v, "annotations", "", m.annotations));
    if (m.media_type == kMediaTypeDockerManifest) {
        if (m.config.media_type != kMediaTypeDockerConfig)
            return field_error("config.mediaType",
                               "'" + m.config.media_type + "' in a Docker schema2 manifest");
    }
    return ok();
}

Status fill_index(const json& v, Index& x) {
    TRY(jsonr::object(v, ""));
    TRY(read_schema_version(v, x.schema_version));
    TRY(jsonr::str(v, "mediaType", "", x.media_type));
    if (!x.media_type.empty() && x.media_type != kMediaTypeOciIndex &&
        x.media_type != kMediaTypeDockerManifestList)
        return field_error("mediaType", "'" + x.media_type + "' is not an image index");
    TRY(jsonr::str(v, "artifactType", "", x.artifact_type));
    TRY(read_descriptors(v, "manifests", "", x.manifests, true));
    TRY(read_subject(v, x.subject));
    TRY(jsonr::str_map(v, "annotations", "", x.annotations));
    return ok();
}

Status fill_container_config(const json& v, const std::string& path, ContainerConfig& c) {
    TRY(jsonr::object(v, path));
    TRY(jsonr::str(v, "User", path, c.user));
    TRY(jsonr::key_set(v, "ExposedPorts", path, c.exposed_ports));
    TRY(jsonr::str_list(v, "Env", path, c.env));
    TRY(jsonr::opt_str_list(v, "Entrypoint", path, c.entrypoint));
    TRY(jsonr::opt_str_list(v, "Cmd", path, c.cmd));
    TRY(jsonr::key_set(v, "Volumes", path, c.volumes));
    TRY(jsonr::str(v, "WorkingDir", path, c.working_dir));
    TRY(jsonr::str_map(v, "Labels", path, c.labels));
    TRY(jsonr::str(v, "StopSignal", path, c.stop_signal));
    TRY(jsonr::opt_boolean(v, "ArgsEscaped", path, c.args_escaped));
    TRY(jsonr::opt_str_list(v, "Shell", path, c.shell));
    TRY(jsonr::opt_str_list(v, "OnBuild", path, c.on_build));
    if (const json* h = jsonr::member(v, "Healthcheck")) {
        if (!h->is_object()) return field_error(key_path(path, "Healthcheck"), "expected object");
        c.healthcheck = *h;
    }
    for (const auto& e : c.env)
        if (e.empty() || e.front() == '=')
            return field_error(key_path(path, "Env"), "invalid entry '" + e + "'");
    return ok();
}

Status fill_image_config(const json& v, ImageConfig& c) {
    TRY(jsonr::object(v, ""));
    TRY(jsonr::str(v, "created", "", c.created));
    TRY(jsonr::str(v, "author", "", c.author));
    TRY(jsonr::str(v, "architecture", "", c.architecture, true));
    TRY(jsonr::str(v, "os", "", c.os, true));
    TRY(jsonr::str(v, "os.version", "", c.os_version));
    TRY(jsonr::str_list(v, "os.features", "", c.os_features));
    TRY(jsonr::str(v, "variant", "", c.variant));
    if (const json* cc = jsonr::member(v, "config")) {
        ContainerConfig x;
        TRY(fill_container_config(*cc, "config", x));
        c.config = std::move(x);
    }
    const json* r = jsonr::member(v, "rootfs");
    if (!r) return field_error("rootfs", "required field missing");
    TRY(jsonr::object(*r, "rootfs"));
    TRY(jsonr::str(*r, "type", "rootfs", c.rootfs.type, true));
    if (c.rootfs.type != "layers")
        return field_error("rootfs.type", "must be 'layers', not '" + c.rootfs.type + "'");
    std::vector<std::string> ids;
    TRY(jsonr::str_list(*r, "diff_ids", "rootfs", ids));
    for (size_t i = 0; i < ids.size(); i++) {
        auto d = Digest::parse(ids[i]);
        if (!d) return field_error(index_path("rootfs.diff_ids", i), d.error().message());
        c.rootfs.diff_ids.push_back(std::move(d.value()));
    }
    if (const json* h = jsonr::member(v, "history")) {
        if (!h->is_array()) return field_error("history", "expected array");
        for (size_t i = 0; i < h->size(); i++) {
            std::string p = index_path("history", i);
            const json& e = (*h)[i];
            TRY(jsonr::object(e, p));
            History hist;
            TRY(jsonr::str(e, "created", p, hist.created));
            TRY(jsonr::str(e, "created_by", p, hist.created_by));
            TRY(jsonr::str(e, "author", p, hist.author));
            TRY(jsonr::str(e, "comment", p, hist.comment));
            TRY(jsonr::boolean(e, "empty_layer", p, hist.empty_layer));
            c.history.push_back(std::move(hist));
        }
    }
    return ok();
}

}  // namespace

Result<Descriptor> parse_descriptor(const std::string& text) {
    return parse_with<Descriptor>(
        text, "descriptor", [](const json& v, Descriptor& d) { return read_descriptor(v, "", d); });
}

Result<Manifest> parse_manifest(const std::string& text) {
    return parse_with<Manifest>(text, "manifest", fill_manifest);
}

Result<Index> parse_index(const std::string& text) {
    return parse_with<Index>(text, "index", fill_index);
}

Result<ImageConfig> parse_image_config(const std::string& text) {
    return parse_with<ImageConfig>(text, "image config", fill_image_config);
}

Result<Platform> parse_platform_json(const std::string& text) {
    return parse_with<Platform>(text, "platform",
                                [](const json& v, Platform& p) { return read_platform(v, "", p); });
}

Result<Layout> parse_layout(const std::string& text) {
    return parse_with<Layout>(text, "oci-layout", [](const json& v, Layout& l) -> Status {
        TRY(jsonr::object(v, ""));
        TRY(jsonr::str(v, "imageLayoutVersion", "", l.image_layout_version, true));
        if (l.image_layout_version != kImageLayoutVersion)
            return field_error("imageLayoutVersion",
                               "unsupported version '" + l.image_layout_version + "'");
        return ok();
    });
}

// Writers.

json to_json(const Platform& p) {
    json j = json::object();
    j["architecture"] = p.architecture;
    j["os"] = p.os;
    if (!p.os_version.empty()) j["os.version"] = p.os_version;
    if (!p.os_features.empty()) j["os.features"] = p.os_features;
    if (!p.variant.empty()) j["variant"] = p.variant;
    if (!p.features.empty()) j["features"] = p.features;
    return j;
}

json to_json(const Descriptor& d) {
    json j = json::object();
    j["mediaType"] = d.media_type;
    j["digest"] = d.digest.str();
    j["size"] = d.size;
    if (!d.urls.empty()) j["urls"] = d.urls;
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.platform) j["platform"] = to_json(*d.platform);
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    if (d.data) j["data"] = *d.data;
    return j;
}

json to_json(const Manifest& m) {
    json j = json::object();
    j["schemaVersion"] = m.schema_version;
    if (!m.media_type.empty()) j["mediaType"] = m.media_type;
    if (!m.artifact_type.empty()) j["artifactType"] = m.artifact_type;
    j["config"] = to_json(m.config);
    j["layers"] = json::array();
    for (const auto& l : m.layers)
        j["layers"].push_back(to_json(l));
    if (m.subject) j["subject"] = to_json(*m.subject);
    if (!m.annotations.empty()) j["annotations"] = m.annotations;
    return j;
}

json to_json(const Index& x) {
    json j = json::object();
    j["schemaVersion"] = x.schema_version;
    if (!x.media_type.empty()) j["mediaType"] = x.media_type;
    if (!x.artifact_type.empty()) j["artifactType"] = x.artifact_type;
    j["manifests"] = json::array();
    for (const auto& d : x.manifests)
        j["manifests"].push_back(to_json(d));
    if (x.subject) j["subject"] = to_json(*x.subject);
    if (!x.annotations.empty()) j["annotations"] = x.annotations;
    return j;
}

json to_json(const ContainerConfig& c) {
    json j = json::object();
    auto set_of = [](const std::vector<std::string>& keys) {
        json o = json::object();
        for (const auto& k : keys)
            o[k] = json::object();
        return o;
    };
    if (!c.user.empty()) j["User"] = c.user;
    if (!c.exposed_ports.empty()) j["ExposedPorts"] = set_of(c.exposed_ports);
    if (!c.env.empty()) j["Env"] = c.env;
    if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
    if (c.cmd) j["Cmd"] = *c.cmd;
    if (!c.volumes.empty()) j["Volumes"] = set_of(c.volumes);
    if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
    if (!c.labels.empty()) j["Labels"] = c.labels;
    if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
    if (c.args_escaped) j["ArgsEscaped"] = *c.args_escaped;
    if (c.shell) j["Shell"] = *c.shell;
    if (c.healthcheck) j["Healthcheck"] = *c.healthcheck;
    if (c.on_build) j["OnBuild"] = *c.on_build;
    return j;
}

json to_json(const ImageConfig& c) {
    json j = json::object();
    if (!c.created.empty()) j["created"] = c.created;
    if (!c.author.empty()) j["author"] = c.author;
    j["architecture"] = c.architecture;
    j["os"] = c.os;
    if (!c.os_version.empty()) j["os.version"] = c.os_version;
    if (!c.os_features.empty()) j["os.features"] = c.os_features;
    if (!c.variant.empty()) j["variant"] = c.variant;
    if (c.config) j["config"] = to_json(*c.config);
    json ids = json::array();
    for (const auto& d : c.rootfs.diff_ids)
        ids.push_back(d.str());
    j["rootfs"] = {{"type", c.rootfs.type}, {"diff_ids", ids}};
    if (!c.history.empty()) {
        json h = json::array();
        for (const auto& e : c.history) {
            json o = json::object();
            if (!e.created.empty()) o["created"] = e.created;
            if (!e.created_by.empty()) o["created_by"] = e.created_by;
            if (!e.author.empty()) o["author"] = e.author;
            if (!e.comment.empty()) o["comment"] = e.comment;
            if (e.empty_layer) o["empty_layer"] = true;
            h.push_back(std::move(o));
        }
        j["history"] = std::move(h);
    }
    return j;
}

json to_json(const Layout& l) {
    return json{{"imageLayoutVersion", l.image_layout_version}};
}

}  // namespace berth::spec
