// Writing Spec back to config.json: runtime-spec member names in runc's order, and the
// omission rules of runtime-spec's Go types (omitempty), so runc-made files come back as is.
#include "spec/runtime_config.hpp"

namespace berth::spec {

namespace {

using oj = nlohmann::ordered_json;

template <typename T>
void put_opt(oj& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}
void put_str(oj& j, const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
}
template <typename T>
void put_list(oj& j, const char* key, const std::vector<T>& v) {
    if (!v.empty()) j[key] = v;
}
template <typename T, typename F>
void put_each(oj& j, const char* key, const std::vector<T>& v, F&& f) {
    if (v.empty()) return;
    oj arr = oj::array();
    for (const auto& item : v)
        arr.push_back(f(item));
    j[key] = std::move(arr);
}
void put_map(oj& j, const char* key, const std::map<std::string, std::string>& m) {
    if (m.empty()) return;
    oj obj = oj::object();
    for (const auto& [k, v] : m)
        obj[k] = v;
    j[key] = std::move(obj);
}

oj write_user(const User& u) {
    oj j = oj::object();
    j["uid"] = u.uid;
    j["gid"] = u.gid;
    put_opt(j, "umask", u.umask);
    put_list(j, "additionalGids", u.additional_gids);
    put_str(j, "username", u.username);
    return j;
}

oj write_capabilities(const Capabilities& c) {
    oj j = oj::object();
    put_opt(j, "bounding", c.bounding);
    put_opt(j, "effective", c.effective);
    put_opt(j, "inheritable", c.inheritable);
    put_opt(j, "permitted", c.permitted);
    put_opt(j, "ambient", c.ambient);
    return j;
}

oj write_scheduler(const Scheduler& s) {
    oj j = oj::object();
    j["policy"] = s.policy;
    put_opt(j, "nice", s.nice);
    put_opt(j, "priority", s.priority);
    put_list(j, "flags", s.flags);
    put_opt(j, "runtime", s.runtime);
    put_opt(j, "deadline", s.deadline);
    put_opt(j, "period", s.period);
    return j;
}

oj write_process(const Process& p) {
    oj j = oj::object();
    if (p.terminal) j["terminal"] = true;
    if (p.console_size)
        j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    j["user"] = write_user(p.user);
    put_list(j, "args", p.args);
    put_opt(j, "commandLine", p.command_line);
    put_list(j, "env", p.env);
    j["cwd"] = p.cwd;
    if (p.capabilities) j["capabilities"] = write_capabilities(*p.capabilities);
    put_each(j, "rlimits", p.rlimits, [](const Rlimit& r) {
        return oj{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}};
    });
    if (p.no_new_privileges) j["noNewPrivileges"] = true;
    put_str(j, "apparmorProfile", p.apparmor_profile);
    put_opt(j, "oomScoreAdj", p.oom_score_adj);
    if (p.scheduler) j["scheduler"] = write_scheduler(*p.scheduler);
    put_str(j, "selinuxLabel", p.selinux_label);
    if (p.io_priority)
        j["ioPriority"] = {{"class", p.io_priority->klass}, {"priority", p.io_priority->priority}};
    if (p.exec_cpu_affinity) {
        oj a = oj::object();
        put_str(a, "initial", p.exec_cpu_affinity->initial);
        put_str(a, "final", p.exec_cpu_affinity->final);
        j["execCPUAffinity"] = std::move(a);
    }
    return j;
}

oj write_id_mapping(const IDMapping& m) {
    return oj{{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

oj write_mount(const Mount& m) {
    oj j = oj::object();
    j["destination"] = m.destination;
    put_str(j, "type", m.type);
    put_str(j, "source", m.source);
    put_list(j, "options", m.options);
    put_each(j, "uidMappings", m.uid_mappings, write_id_mapping);
    put_each(j, "gidMappings", m.gid_mappings, write_id_mapping);
    return j;
}

oj write_hook(const Hook& h) {
    oj j = oj::object();
    j["path"] = h.path;
    put_list(j, "args", h.args);
    put_list(j, "env", h.env);
    put_opt(j, "timeout", h.timeout);
    return j;
}

oj write_hooks(const Hooks& h) {
    oj j = oj::object();
    put_each(j, "prestart", h.prestart, write_hook);
    put_each(j, "createRuntime", h.create_runtime, write_hook);
    put_each(j, "createContainer", h.create_container, write_hook);
    put_each(j, "startContainer", h.start_container, write_hook);
    put_each(j, "poststart", h.poststart, write_hook);
    put_each(j, "poststop", h.poststop, write_hook);
    return j;
}

oj write_device_cgroup(const DeviceCgroup& d) {
    oj j = oj::object();
    j["allow"] = d.allow;
    put_str(j, "type", d.type);
    put_opt(j, "major", d.major);
    put_opt(j, "minor", d.minor);
    put_str(j, "access", d.access);
    return j;
}

oj write_memory(const Memory& m) {
    oj j = oj::object();
    put_opt(j, "limit", m.limit);
    put_opt(j, "reservation", m.reservation);
    put_opt(j, "swap", m.swap);
    put_opt(j, "kernel", m.kernel);
    put_opt(j, "kernelTCP", m.kernel_tcp);
    put_opt(j, "swappiness", m.swappiness);
    put_opt(j, "disableOOMKiller", m.disable_oom_killer);
    put_opt(j, "useHierarchy", m.use_hierarchy);
    put_opt(j, "checkBeforeUpdate", m.check_before_update);
    return j;
}

oj write_cpu(const Cpu& c) {
    oj j = oj::object();
    put_opt(j, "shares", c.shares);
    put_opt(j, "quota", c.quota);
    put_opt(j, "burst", c.burst);
    put_opt(j, "period", c.period);
    put_opt(j, "realtimeRuntime", c.realtime_runtime);
    put_opt(j, "realtimePeriod", c.realtime_period);
    put_str(j, "cpus", c.cpus);
    put_str(j, "mems", c.mems);
    put_opt(j, "idle", c.idle);
    return j;
}

oj write_throttle(const ThrottleDevice& d) {
    return oj{{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}};
}

oj write_block_io(const BlockIO& b) {
    oj j = oj::object();
    put_opt(j, "weight", b.weight);
    put_opt(j, "leafWeight", b.leaf_weight);
    put_each(j, "weightDevice", b.weight_device, [](const WeightDevice& d) {
        oj w{{"major", d.major}, {"minor", d.minor}};
        put_opt(w, "weight", d.weight);
        put_opt(w, "leafWeight", d.leaf_weight);
        return w;
    });
    put_each(j, "throttleReadBpsDevice", b.throttle_read_bps_device, write_throttle);
    put_each(j, "throttleWriteBpsDevice", b.throttle_write_bps_device, write_throttle);
    put_each(j, "throttleReadIOPSDevice", b.throttle_read_iops_device, write_throttle);
    put_each(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device, write_throttle);
    return j;
}

oj write_resources(const Resources& r) {
    oj j = oj::object();
    put_each(j, "devices", r.devices, write_device_cgroup);
    if (r.memory) j["memory"] = write_memory(*r.memory);
    if (r.cpu) j["cpu"] = write_cpu(*r.cpu);
    if (r.pids) {
        oj p = oj::object();
        put_opt(p, "limit", r.pids->limit);
        j["pids"] = std::move(p);
    }
    if (r.block_io) j["blockIO"] = write_block_io(*r.block_io);
    put_each(j, "hugepageLimits", r.hugepage_limits, [](const HugepageLimit& h) {
        return oj{{"pageSize", h.page_size}, {"limit", h.limit}};
    });
    if (r.network) {
        oj n = oj::object();
        put_opt(n, "classID", r.network->class_id);
        put_each(n, "priorities", r.network->priorities, [](const InterfacePriority& p) {
            return oj{{"name", p.name}, {"priority", p.priority}};
        });
        j["network"] = std::move(n);
    }
    if (!r.rdma.empty()) {
        oj rd = oj::object();
        for (const auto& [dev, lim] : r.rdma) {
            oj d = oj::object();
            put_opt(d, "hcaHandles", lim.hca_handles);
            put_opt(d, "hcaObjects", lim.hca_objects);
            rd[dev] = std::move(d);
        }
        j["rdma"] = std::move(rd);
    }
    put_map(j, "unified", r.unified);
    return j;
}

oj write_device(const Device& d) {
    oj j = oj::object();
    j["path"] = d.path;
    j["type"] = d.type;
    j["major"] = d.major;
    j["minor"] = d.minor;
    put_opt(j, "fileMode", d.file_mode);
    put_opt(j, "uid", d.uid);
    put_opt(j, "gid", d.gid);
    return j;
}

oj write_seccomp(const Seccomp& s) {
    oj j = oj::object();
    j["defaultAction"] = s.default_action;
    put_opt(j, "defaultErrnoRet", s.default_errno_ret);
    put_list(j, "architectures", s.architectures);
    put_list(j, "flags", s.flags);
    put_str(j, "listenerPath", s.listener_path);
    put_str(j, "listenerMetadata", s.listener_metadata);
    put_each(j, "syscalls", s.syscalls, [](const SeccompSyscall& sc) {
        oj c = oj::object();
        c["names"] = sc.names;
        c["action"] = sc.action;
        put_opt(c, "errnoRet", sc.errno_ret);
        put_each(c, "args", sc.args, [](const SeccompArg& a) {
            oj x{{"index", a.index}, {"value", a.value}};
            put_opt(x, "valueTwo", a.value_two);
            x["op"] = a.op;
            return x;
        });
        return c;
    });
    return j;
}

oj write_linux(const Linux& l) {
    oj j = oj::object();
    put_each(j, "uidMappings", l.uid_mappings, write_id_mapping);
    put_each(j, "gidMappings", l.gid_mappings, write_id_mapping);
    put_map(j, "sysctl", l.sysctl);
    if (l.resources) j["resources"] = write_resources(*l.resources);
    put_str(j, "cgroupsPath", l.cgroups_path);
    put_each(j, "namespaces", l.namespaces, [](const Namespace& ns) {
        oj n{{"type", ns.type}};
        put_str(n, "path", ns.path);
        return n;
    });
    put_each(j, "devices", l.devices, write_device);
    if (l.seccomp) j["seccomp"] = write_seccomp(*l.seccomp);
    put_str(j, "rootfsPropagation", l.rootfs_propagation);
    put_list(j, "maskedPaths", l.masked_paths);
    put_list(j, "readonlyPaths", l.readonly_paths);
    put_str(j, "mountLabel", l.mount_label);
    if (l.intel_rdt) {
        oj r = oj::object();
        put_str(r, "closID", l.intel_rdt->clos_id);
        put_str(r, "schemata", l.intel_rdt->schemata);
        put_str(r, "l3CacheSchema", l.intel_rdt->l3_cache_schema);
        put_str(r, "memBwSchema", l.intel_rdt->mem_bw_schema);
        put_opt(r, "enableCMT", l.intel_rdt->enable_cmt);
        put_opt(r, "enableMBM", l.intel_rdt->enable_mbm);
        j["intelRdt"] = std::move(r);
    }
    if (l.personality) {
        oj p{{"domain", l.personality->domain}};
        put_list(p, "flags", l.personality->flags);
        j["personality"] = std::move(p);
    }
    if (!l.time_offsets.empty()) {
        oj t = oj::object();
        for (const auto& [clock, off] : l.time_offsets)
            t[clock] = oj{{"secs", off.secs}, {"nanosecs", off.nanosecs}};
        j["timeOffsets"] = std::move(t);
    }
    if (l.memory_policy) {
        oj m{{"mode", l.memory_policy->mode}};
        put_str(m, "nodes", l.memory_policy->nodes);
        put_list(m, "flags", l.memory_policy->flags);
        j["memoryPolicy"] = std::move(m);
    }
    return j;
}

std::string dump(const oj& j, int indent, char indent_char = ' ') {
    // Replace rather than throw on invalid UTF-8 that came from the command line.
    return j.dump(indent, indent_char, false, oj::error_handler_t::replace);
}

}  // namespace

nlohmann::ordered_json to_ordered_json(const Spec& s) {
    oj j = oj::object();
    j["ociVersion"] = s.oci_version;
    if (s.process) j["process"] = write_process(*s.process);
    if (s.root) {
        oj r{{"path", s.root->path}};
        if (s.root->readonly) r["readonly"] = true;
        j["root"] = std::move(r);
    }
    put_str(j, "hostname", s.hostname);
    put_str(j, "domainname", s.domainname);
    put_each(j, "mounts", s.mounts, write_mount);
    if (s.hooks) j["hooks"] = write_hooks(*s.hooks);
    put_map(j, "annotations", s.annotations);
    if (s.linux_) j["linux"] = write_linux(*s.linux_);
    if (s.extensions.is_object())
        for (auto it = s.extensions.begin(); it != s.extensions.end(); ++it)
            if (!j.contains(it.key())) j[it.key()] = oj(it.value());
    return j;
}

nlohmann::json to_json(const Spec& s) {
    return nlohmann::json(to_ordered_json(s));
}

std::string to_string(const Spec& s, int indent, char indent_char) {
    return dump(to_ordered_json(s), indent, indent_char);
}

nlohmann::json to_json(const Resources& r) {
    return nlohmann::json(write_resources(r));
}

std::string to_string(const Resources& r, int indent) {
    return dump(write_resources(r), indent);
}

nlohmann::json to_json(const Process& p) {
    return nlohmann::json(write_process(p));
}

std::string to_string(const Process& p, int indent) {
    return dump(write_process(p), indent);
}

}  // namespace berth::spec
