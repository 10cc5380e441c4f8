// Features document: writing in features.md order, strict reading for comparisons.
#include "spec/features.hpp"

#include "spec/json_read.hpp"

namespace berth::spec {

namespace {

using oj = nlohmann::ordered_json;
using jsonr::Node;
using jsonr::Object;

template <typename T>
void put_opt(oj& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}
void put_list(oj& j, const char* key, const std::vector<std::string>& v) {
    if (!v.empty()) j[key] = v;
}
oj write_enabled(const FeatureEnabled& e) {
    oj j = oj::object();
    put_opt(j, "enabled", e.enabled);
    return j;
}

oj write_linux(const LinuxFeatures& l) {
    oj j = oj::object();
    put_list(j, "namespaces", l.namespaces);
    put_list(j, "capabilities", l.capabilities);
    if (l.cgroup) {
        oj c = oj::object();
        put_opt(c, "v1", l.cgroup->v1);
        put_opt(c, "v2", l.cgroup->v2);
        put_opt(c, "systemd", l.cgroup->systemd);
        put_opt(c, "systemdUser", l.cgroup->systemd_user);
        put_opt(c, "rdma", l.cgroup->rdma);
        j["cgroup"] = std::move(c);
    }
    if (l.seccomp) {
        oj s = oj::object();
        put_opt(s, "enabled", l.seccomp->enabled);
        put_list(s, "actions", l.seccomp->actions);
        put_list(s, "operators", l.seccomp->operators);
        put_list(s, "archs", l.seccomp->archs);
        put_list(s, "knownFlags", l.seccomp->known_flags);
        put_list(s, "supportedFlags", l.seccomp->supported_flags);
        j["seccomp"] = std::move(s);
    }
    if (l.apparmor) j["apparmor"] = write_enabled(*l.apparmor);
    if (l.selinux) j["selinux"] = write_enabled(*l.selinux);
    if (l.intel_rdt) j["intelRdt"] = write_enabled(*l.intel_rdt);
    if (l.mount_extensions) {
        oj m = oj::object();
        if (l.mount_extensions->idmap) m["idmap"] = write_enabled(*l.mount_extensions->idmap);
        j["mountExtensions"] = std::move(m);
    }
    return j;
}

Status read_enabled(const Node& n, FeatureEnabled& e) {
    auto o = TRY(Object::of(n));
    return o.opt("enabled", e.enabled);
}

Status read_cgroup(const Node& n, CgroupFeatures& c) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("v1", c.v1));
    TRY(o.opt("v2", c.v2));
    TRY(o.opt("systemd", c.systemd));
    TRY(o.opt("systemdUser", c.systemd_user));
    TRY(o.opt("rdma", c.rdma));
    return ok();
}

Status read_seccomp(const Node& n, SeccompFeatures& s) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("enabled", s.enabled));
    TRY(o.opt("actions", s.actions));
    TRY(o.opt("operators", s.operators));
    TRY(o.opt("archs", s.archs));
    TRY(o.opt("knownFlags", s.known_flags));
    TRY(o.opt("supportedFlags", s.supported_flags));
    return ok();
}

Status read_mount_extensions(const Node& n, MountExtensions& m) {
    auto o = TRY(Object::of(n));
    return o.opt_with("idmap", m.idmap, read_enabled);
}

Status read_linux(const Node& n, LinuxFeatures& l) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("namespaces", l.namespaces));
    TRY(o.opt("capabilities", l.capabilities));
    TRY(o.opt_with("cgroup", l.cgroup, read_cgroup));
    TRY(o.opt_with("seccomp", l.seccomp, read_seccomp));
    TRY(o.opt_with("apparmor", l.apparmor, read_enabled));
    TRY(o.opt_with("selinux", l.selinux, read_enabled));
    TRY(o.opt_with("intelRdt", l.intel_rdt, read_enabled));
    TRY(o.opt_with("mountExtensions", l.mount_extensions, read_mount_extensions));
    return ok();
}

Status read_features(const Node& n, Features& f) {
    auto o = TRY(Object::of(n));
    TRY(o.req("ociVersionMin", f.oci_version_min));
    TRY(o.req("ociVersionMax", f.oci_version_max));
    TRY(o.opt("hooks", f.hooks));
    TRY(o.opt("mountOptions", f.mount_options));
    TRY(o.opt_with("linux", f.linux_, read_linux));
    TRY(o.opt("annotations", f.annotations));
    TRY(o.opt("potentiallyUnsafeConfigAnnotations", f.potentially_unsafe_config_annotations));
    return ok();
}

}  // namespace

nlohmann::ordered_json to_ordered_json(const Features& f) {
    oj j = oj::object();
    j["ociVersionMin"] = f.oci_version_min;
    j["ociVersionMax"] = f.oci_version_max;
    put_list(j, "hooks", f.hooks);
    put_list(j, "mountOptions", f.mount_options);
    if (f.linux_) j["linux"] = write_linux(*f.linux_);
    if (!f.annotations.empty()) j["annotations"] = f.annotations;
    put_list(j, "potentiallyUnsafeConfigAnnotations", f.potentially_unsafe_config_annotations);
    return j;
}

nlohmann::json to_json(const Features& f) {
    return nlohmann::json(to_ordered_json(f));
}

std::string to_string(const Features& f, int indent) {
    return to_ordered_json(f).dump(indent, ' ', false, oj::error_handler_t::replace);
}

Result<Features> parse_features(const std::string& json_text) {
    auto j = TRY(jsonr::parse_text(json_text));
    Features f;
    TRY(read_features(Node(j, ""), f));
    return f;
}

}  // namespace berth::spec
