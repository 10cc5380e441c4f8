// Rules of runtime-spec 1.2 (and runc's checks) that a JSON schema cannot express.
#include <algorithm>
#include <set>

#include "spec/json_read.hpp"
#include "spec/runtime_config.hpp"

namespace berth::spec {

namespace {

using jsonr::element_path;
using jsonr::member_path;

Error fail(const std::string& path, const std::string& what) {
    return error(ErrorKind::invalid, path + ": " + what);
}

bool absolute(const std::string& p) {
    return !p.empty() && p[0] == '/';
}

Status need_absolute(const std::string& path, const std::string& value) {
    if (!absolute(value)) return fail(path, "must be an absolute path, got '" + value + "'");
    return ok();
}

bool has_namespace(const Spec& s, const std::string& type) {
    if (!s.linux_) return false;
    return std::any_of(s.linux_->namespaces.begin(), s.linux_->namespaces.end(),
                       [&](const Namespace& n) { return n.type == type; });
}

// "0-3,7": what the kernel's cpulist parser takes.
bool valid_cpu_list(const std::string& s) {
    if (s.empty()) return true;
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])))
            i++;
        if (i == start) return false;
        if (i < s.size() && s[i] == '-') {
            size_t r = ++i;
            while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])))
                i++;
            if (i == r) return false;
        }
        if (i == s.size()) return true;
        if (s[i] != ',') return false;
        i++;
        if (i == s.size()) return false;
    }
    return true;
}

Status validate_process_at(const Process& p, const std::string& base) {
    auto at = [&](const char* k) { return member_path(base, k); };
    if (p.args.empty()) return fail(at("args"), "must not be empty");
    TRY(need_absolute(at("cwd"), p.cwd));
    if (p.console_size && !p.terminal) return fail(at("consoleSize"), "requires terminal: true");
    std::set<std::string> seen;
    for (size_t i = 0; i < p.rlimits.size(); i++) {
        const auto& r = p.rlimits[i];
        std::string path = element_path(at("rlimits"), i);
        if (!seen.insert(r.type).second)
            return fail(member_path(path, "type"), "duplicate rlimit '" + r.type + "'");
        if (r.soft > r.hard) return fail(path, "soft limit exceeds hard limit");
    }
    if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
        return fail(at("oomScoreAdj"),
                    std::to_string(*p.oom_score_adj) + " out of range (-1000 to 1000)");
    if (p.scheduler && p.scheduler->nice && (*p.scheduler->nice < -20 || *p.scheduler->nice > 19))
        return fail(member_path(at("scheduler"), "nice"),
                    std::to_string(*p.scheduler->nice) + " out of range (-20 to 19)");
    if (p.io_priority && (p.io_priority->priority < 0 || p.io_priority->priority > 7))
        return fail(member_path(at("ioPriority"), "priority"),
                    std::to_string(p.io_priority->priority) + " out of range (0 to 7)");
    if (p.exec_cpu_affinity) {
        std::string path = at("execCPUAffinity");
        if (!valid_cpu_list(p.exec_cpu_affinity->initial))
            return fail(member_path(path, "initial"),
                        "invalid CPU list '" + p.exec_cpu_affinity->initial + "'");
        if (!valid_cpu_list(p.exec_cpu_affinity->final))
            return fail(member_path(path, "final"),
                        "invalid CPU list '" + p.exec_cpu_affinity->final + "'");
    }
    return ok();
}

Status validate_mounts(const Spec& s) {
    for (size_t i = 0; i < s.mounts.size(); i++) {
        const auto& m = s.mounts[i];
        std::string path = element_path("mounts", i);
        // runtime-spec 1.1+: destination SHOULD be absolute; a relative one is deprecated
        // but MUST be taken relative to "/" (runc warns and does so). Only empty is wrong.
        if (m.destination.empty())
            return fail(member_path(path, "destination"), "must not be empty");
        if (m.uid_mappings.empty() != m.gid_mappings.empty())
            return fail(path, "uidMappings and gidMappings must be given together");
    }
    return ok();
}

Status validate_hooks(const Hooks& h) {
    const std::pair<const char*, const std::vector<Hook>*> kinds[] = {
        {"prestart", &h.prestart},
        {"createRuntime", &h.create_runtime},
        {"createContainer", &h.create_container},
        {"startContainer", &h.start_container},
        {"poststart", &h.poststart},
        {"poststop", &h.poststop}};
    for (const auto& [name, list] : kinds) {
        for (size_t i = 0; i < list->size(); i++) {
            const auto& hook = (*list)[i];
            std::string path = element_path(member_path("hooks", name), i);
            TRY(need_absolute(member_path(path, "path"), hook.path));
            if (hook.timeout && *hook.timeout <= 0)
                return fail(member_path(path, "timeout"), "must be greater than zero");
        }
    }
    return ok();
}

Status validate_mappings(const std::vector<IDMapping>& maps, const std::string& path) {
    for (size_t i = 0; i < maps.size(); i++)
        if (maps[i].size == 0)
            return fail(member_path(element_path(path, i), "size"), "must be greater than zero");
    return ok();
}

// Sysctls the kernel keeps per namespace (runc's libcontainer/configs/validate list).
Status validate_sysctl(const Spec& s) {
    static const std::set<std::string> kIpc = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (const auto& [key, value] : s.linux_->sysctl) {
        std::string path = member_path("linux.sysctl", key);
        if (key.empty()) return fail("linux.sysctl", "empty key");
        if (kIpc.count(key) || key.starts_with("fs.mqueue.")) {
            if (!has_namespace(s, "ipc")) return fail(path, "requires an ipc namespace");
        } else if (key.starts_with("net.")) {
            if (!has_namespace(s, "network")) return fail(path, "requires a network namespace");
        } else if (key == "kernel.hostname" || key == "kernel.domainname") {
            if (!has_namespace(s, "uts")) return fail(path, "requires a uts namespace");
        } else {
            return fail(path, "not namespaced: would change the host");
        }
    }
    return ok();
}

Status validate_seccomp(const Seccomp& sc) {
    const std::string base = "linux.seccomp";
    auto takes_errno = [](const std::string& a) {
        return a == "SCMP_ACT_ERRNO" || a == "SCMP_ACT_TRACE";
    };
    if (sc.default_action == "SCMP_ACT_NOTIFY")
        return fail(member_path(base, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default");
    if (sc.default_errno_ret && !takes_errno(sc.default_action))
        return fail(member_path(base, "defaultErrnoRet"),
                    "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    bool notify = false;
    for (size_t i = 0; i < sc.syscalls.size(); i++) {
        const auto& c = sc.syscalls[i];
        std::string path = element_path(member_path(base, "syscalls"), i);
        if (c.names.empty()) return fail(member_path(path, "names"), "must not be empty");
        for (size_t k = 0; k < c.names.size(); k++)
            if (c.names[k].empty())
                return fail(element_path(member_path(path, "names"), k), "empty syscall name");
        if (c.errno_ret && !takes_errno(c.action))
            return fail(member_path(path, "errnoRet"),
                        "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
        for (size_t k = 0; k < c.args.size(); k++)
            if (c.args[k].index > 5)
                return fail(member_path(element_path(member_path(path, "args"), k), "index"),
                            "syscalls take at most 6 arguments (0 to 5)");
        if (c.action == "SCMP_ACT_NOTIFY") notify = true;
    }
    if (notify && sc.listener_path.empty())
        return fail(member_path(base, "listenerPath"),
                    "required when an action is SCMP_ACT_NOTIFY");
    return ok();
}

Status validate_linux(const Spec& s) {
    const Linux& l = *s.linux_;
    std::set<std::string> types;
    bool new_userns = false;
    for (size_t i = 0; i < l.namespaces.size(); i++) {
        const auto& ns = l.namespaces[i];
        std::string path = element_path("linux.namespaces", i);
        if (!types.insert(ns.type).second)
            return fail(member_path(path, "type"), "duplicate namespace '" + ns.type + "'");
        if (!ns.path.empty()) TRY(need_absolute(member_path(path, "path"), ns.path));
        if (ns.type == "user" && ns.path.empty()) new_userns = true;
    }
    bool userns = types.count("user") > 0;
    if (!l.uid_mappings.empty() && !userns)
        return fail("linux.uidMappings", "requires a user namespace");
    if (!l.gid_mappings.empty() && !userns)
        return fail("linux.gidMappings", "requires a user namespace");
    if (new_userns && (l.uid_mappings.empty() || l.gid_mappings.empty()))
        return fail("linux.namespaces",
                    "a new user namespace needs linux.uidMappings and linux.gidMappings");
    TRY(validate_mappings(l.uid_mappings, "linux.uidMappings"));
    TRY(validate_mappings(l.gid_mappings, "linux.gidMappings"));
    if (!l.time_offsets.empty() && !types.count("time"))
        return fail("linux.timeOffsets", "requires a time namespace");
    for (const auto& [clock, off] : l.time_offsets)
        if (off.nanosecs >= 1000000000u)
            return fail(member_path(member_path("linux.timeOffsets", clock), "nanosecs"),
                        "must be below 1000000000");
    TRY(validate_sysctl(s));
    for (size_t i = 0; i < l.devices.size(); i++) {
        const auto& d = l.devices[i];
        std::string path = element_path("linux.devices", i);
        // fileMode is not checked: podman writes the S_IFCHR/S_IFBLK bits into it and runc
        // masks them off, so a range check would refuse real configs.
        TRY(need_absolute(member_path(path, "path"), d.path));
    }
    for (size_t i = 0; i < l.masked_paths.size(); i++)
        TRY(need_absolute(element_path("linux.maskedPaths", i), l.masked_paths[i]));
    for (size_t i = 0; i < l.readonly_paths.size(); i++)
        TRY(need_absolute(element_path("linux.readonlyPaths", i), l.readonly_paths[i]));
    if (l.seccomp) TRY(validate_seccomp(*l.seccomp));
    if (l.memory_policy) {
        const auto& m = *l.memory_policy;
        bool wants_nodes = m.mode == "MPOL_BIND" || m.mode == "MPOL_INTERLEAVE" ||
                           m.mode == "MPOL_WEIGHTED_INTERLEAVE" || m.mode == "MPOL_PREFERRED_MANY";
        if (wants_nodes && m.nodes.empty())
            return fail("linux.memoryPolicy.nodes", "required for " + m.mode);
        if ((m.mode == "MPOL_DEFAULT" || m.mode == "MPOL_LOCAL") && !m.nodes.empty())
            return fail("linux.memoryPolicy.nodes", "must be empty for " + m.mode);
        if (!valid_cpu_list(m.nodes))
            return fail("linux.memoryPolicy.nodes", "invalid node list '" + m.nodes + "'");
        auto has = [&](const char* f) {
            return std::find(m.flags.begin(), m.flags.end(), f) != m.flags.end();
        };
        if (has("MPOL_F_STATIC_NODES") && has("MPOL_F_RELATIVE_NODES"))
            return fail("linux.memoryPolicy.flags",
                        "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
    }
    return ok();
}

}  // namespace

std::string mount_destination(const Mount& m) {
    if (absolute(m.destination)) return m.destination;
    return "/" + m.destination;
}

Status validate(const Process& p) {
    return validate_process_at(p, "");
}

Status validate(const Spec& s) {
    if (s.oci_version.empty()) return fail("ociVersion", "must not be empty");
    if (s.root && s.root->path.empty()) return fail("root.path", "must not be empty");
    if (s.process) TRY(validate_process_at(*s.process, "process"));
    // runc refuses to set a hostname it would be setting on the host.
    if (!s.hostname.empty() && !has_namespace(s, "uts"))
        return fail("hostname", "requires a uts namespace");
    if (!s.domainname.empty() && !has_namespace(s, "uts"))
        return fail("domainname", "requires a uts namespace");
    TRY(validate_mounts(s));
    if (s.hooks) TRY(validate_hooks(*s.hooks));
    for (const auto& [key, _] : s.annotations)
        if (key.empty()) return fail("annotations", "empty key");
    if (s.linux_) TRY(validate_linux(s));
    return ok();
}

}  // namespace berth::spec
