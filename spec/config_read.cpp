// Strict reading of config.json (runtime-spec 1.2, Linux) into berth::spec::Spec.
#include <algorithm>
#include <set>

#include "base/file.hpp"
#include "spec/enums.hpp"
#include "spec/json_read.hpp"
#include "spec/runtime_config.hpp"

namespace berth::spec {

using jsonr::Node;
using jsonr::Object;
using jsonr::read;

namespace {

Status read_box(const Node& n, Box& b) {
    auto o = TRY(Object::of(n));
    TRY(o.req("height", b.height));
    TRY(o.req("width", b.width));
    return ok();
}

Status read_user(const Node& n, User& u) {
    auto o = TRY(Object::of(n));
    TRY(o.req("uid", u.uid));
    TRY(o.req("gid", u.gid));
    TRY(o.opt("umask", u.umask));
    TRY(o.opt("additionalGids", u.additional_gids));
    TRY(o.opt("username", u.username));
    return ok();
}

Status read_capabilities(const Node& n, Capabilities& c) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("bounding", c.bounding));
    TRY(o.opt("effective", c.effective));
    TRY(o.opt("inheritable", c.inheritable));
    TRY(o.opt("permitted", c.permitted));
    TRY(o.opt("ambient", c.ambient));
    return ok();
}

Status read_rlimit(const Node& n, Rlimit& r) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("type", r.type, enums::rlimit_types(), "rlimit"));
    TRY(o.req("hard", r.hard));
    TRY(o.req("soft", r.soft));
    return ok();
}

Status read_scheduler(const Node& n, Scheduler& s) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("policy", s.policy, enums::scheduler_policies(), "scheduler policy"));
    TRY(o.opt("nice", s.nice));
    TRY(o.opt("priority", s.priority));
    TRY(o.opt_enum_list("flags", s.flags, enums::scheduler_flags(), "scheduler flag"));
    TRY(o.opt("runtime", s.runtime));
    TRY(o.opt("deadline", s.deadline));
    TRY(o.opt("period", s.period));
    return ok();
}

Status read_io_priority(const Node& n, IOPriority& p) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("class", p.klass, enums::ioprio_classes(), "ioPriority class"));
    TRY(o.opt("priority", p.priority));
    return ok();
}

Status read_cpu_affinity(const Node& n, CPUAffinity& a) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("initial", a.initial));
    TRY(o.opt("final", a.final));
    return ok();
}

Status read_process(const Node& n, Process& p) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("terminal", p.terminal));
    TRY(o.opt_with("consoleSize", p.console_size, read_box));
    TRY(o.req_with("user", p.user, read_user));
    TRY(o.opt("args", p.args));
    TRY(o.opt("commandLine", p.command_line));
    TRY(o.opt("env", p.env));
    TRY(o.req("cwd", p.cwd));
    TRY(o.opt_with("capabilities", p.capabilities, read_capabilities));
    TRY(o.opt_array("rlimits", p.rlimits, read_rlimit));
    TRY(o.opt("noNewPrivileges", p.no_new_privileges));
    TRY(o.opt("apparmorProfile", p.apparmor_profile));
    TRY(o.opt("oomScoreAdj", p.oom_score_adj));
    TRY(o.opt_with("scheduler", p.scheduler, read_scheduler));
    TRY(o.opt("selinuxLabel", p.selinux_label));
    TRY(o.opt_with("ioPriority", p.io_priority, read_io_priority));
    TRY(o.opt_with("execCPUAffinity", p.exec_cpu_affinity, read_cpu_affinity));
    return ok();
}

Status read_root(const Node& n, Root& r) {
    auto o = TRY(Object::of(n));
    TRY(o.req("path", r.path));
    TRY(o.opt("readonly", r.readonly));
    return ok();
}

Status read_id_mapping(const Node& n, IDMapping& m) {
    auto o = TRY(Object::of(n));
    TRY(o.req("containerID", m.container_id));
    TRY(o.req("hostID", m.host_id));
    TRY(o.req("size", m.size));
    return ok();
}

Status read_mount(const Node& n, Mount& m) {
    auto o = TRY(Object::of(n));
    TRY(o.req("destination", m.destination));
    TRY(o.opt("type", m.type));
    TRY(o.opt("source", m.source));
    TRY(o.opt("options", m.options));
    TRY(o.opt_array("uidMappings", m.uid_mappings, read_id_mapping));
    TRY(o.opt_array("gidMappings", m.gid_mappings, read_id_mapping));
    return ok();
}

Status read_hook(const Node& n, Hook& h) {
    auto o = TRY(Object::of(n));
    TRY(o.req("path", h.path));
    TRY(o.opt("args", h.args));
    TRY(o.opt("env", h.env));
    TRY(o.opt("timeout", h.timeout));
    return ok();
}

Status read_hooks(const Node& n, Hooks& h) {
    auto o = TRY(Object::of(n));
    TRY(o.opt_array("prestart", h.prestart, read_hook));
    TRY(o.opt_array("createRuntime", h.create_runtime, read_hook));
    TRY(o.opt_array("createContainer", h.create_container, read_hook));
    TRY(o.opt_array("startContainer", h.start_container, read_hook));
    TRY(o.opt_array("poststart", h.poststart, read_hook));
    TRY(o.opt_array("poststop", h.poststop, read_hook));
    return ok();
}

Status read_namespace(const Node& n, Namespace& ns) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("type", ns.type, enums::namespace_types(), "namespace"));
    TRY(o.opt("path", ns.path));
    return ok();
}

Status read_device(const Node& n, Device& d) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("type", d.type, enums::device_types(), "device type"));
    TRY(o.req("path", d.path));
    TRY(o.opt("major", d.major));
    TRY(o.opt("minor", d.minor));
    TRY(o.opt("fileMode", d.file_mode));
    TRY(o.opt("uid", d.uid));
    TRY(o.opt("gid", d.gid));
    return ok();
}

Status read_device_cgroup(const Node& n, DeviceCgroup& d) {
    auto o = TRY(Object::of(n));
    TRY(o.req("allow", d.allow));
    TRY(o.opt_enum("type", d.type, enums::cgroup_device_types(), "device cgroup type"));
    TRY(o.opt("major", d.major));
    TRY(o.opt("minor", d.minor));
    if (auto a = o.get("access")) {
        TRY(read(*a, d.access));
        // runc 1.1 reads access as the set of r, w and m it contains and ignores any other
        // character ("r w" is rw, "mmr" is rm, "rwmx" is rwm); a string with none of the
        // three fails there (its devices cgroup then "doesn't precisely match target").
        // Kept canonical ("rwm" order, once each) so v1 lines and the eBPF filter agree.
        // An absent or empty access stays "" (all of rwm): the spec makes it optional.
        if (!d.access.empty()) {
            std::string set;
            for (char c : {'r', 'w', 'm'})
                if (d.access.find(c) != std::string::npos) set += c;
            if (set.empty())
                return a->fail("unknown device access '" + d.access + "' (want letters of rwm)");
            d.access = set;
        }
    }
    return ok();
}

Status read_memory(const Node& n, Memory& m) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("limit", m.limit));
    TRY(o.opt("reservation", m.reservation));
    TRY(o.opt("swap", m.swap));
    TRY(o.opt("kernel", m.kernel));
    TRY(o.opt("kernelTCP", m.kernel_tcp));
    TRY(o.opt("swappiness", m.swappiness));
    TRY(o.opt("disableOOMKiller", m.disable_oom_killer));
    TRY(o.opt("useHierarchy", m.use_hierarchy));
    TRY(o.opt("checkBeforeUpdate", m.check_before_update));
    return ok();
}

Status read_cpu(const Node& n, Cpu& c) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("shares", c.shares));
    TRY(o.opt("quota", c.quota));
    TRY(o.opt("burst", c.burst));
    TRY(o.opt("period", c.period));
    TRY(o.opt("realtimeRuntime", c.realtime_runtime));
    TRY(o.opt("realtimePeriod", c.realtime_period));
    TRY(o.opt("cpus", c.cpus));
    TRY(o.opt("mems", c.mems));
    TRY(o.opt("idle", c.idle));
    return ok();
}

Status read_pids(const Node& n, Pids& p) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("limit", p.limit));
    return ok();
}

Status read_weight_device(const Node& n, WeightDevice& d) {
    auto o = TRY(Object::of(n));
    TRY(o.req("major", d.major));
    TRY(o.req("minor", d.minor));
    TRY(o.opt("weight", d.weight));
    TRY(o.opt("leafWeight", d.leaf_weight));
    return ok();
}

Status read_throttle_device(const Node& n, ThrottleDevice& d) {
    auto o = TRY(Object::of(n));
    TRY(o.req("major", d.major));
    TRY(o.req("minor", d.minor));
    TRY(o.opt("rate", d.rate));
    return ok();
}

Status read_block_io(const Node& n, BlockIO& b) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("weight", b.weight));
    TRY(o.opt("leafWeight", b.leaf_weight));
    TRY(o.opt_array("weightDevice", b.weight_device, read_weight_device));
    TRY(o.opt_array("throttleReadBpsDevice", b.throttle_read_bps_device, read_throttle_device));
    TRY(o.opt_array("throttleWriteBpsDevice", b.throttle_write_bps_device, read_throttle_device));
    TRY(o.opt_array("throttleReadIOPSDevice", b.throttle_read_iops_device, read_throttle_device));
    TRY(o.opt_array("throttleWriteIOPSDevice", b.throttle_write_iops_device, read_throttle_device));
    return ok();
}

Status read_hugepage_limit(const Node& n, HugepageLimit& h) {
    auto o = TRY(Object::of(n));
    TRY(o.req("pageSize", h.page_size));
    TRY(o.req("limit", h.limit));
    return ok();
}

Status read_interface_priority(const Node& n, InterfacePriority& p) {
    auto o = TRY(Object::of(n));
    TRY(o.req("name", p.name));
    TRY(o.req("priority", p.priority));
    return ok();
}

Status read_network(const Node& n, Network& net) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("classID", net.class_id));
    TRY(o.opt_array("priorities", net.priorities, read_interface_priority));
    return ok();
}

Status read_rdma(const Node& n, Rdma& r) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("hcaHandles", r.hca_handles));
    TRY(o.opt("hcaObjects", r.hca_objects));
    return ok();
}

Status read_resources(const Node& n, Resources& r) {
    auto o = TRY(Object::of(n));
    TRY(o.opt_array("devices", r.devices, read_device_cgroup));
    TRY(o.opt_with("memory", r.memory, read_memory));
    TRY(o.opt_with("cpu", r.cpu, read_cpu));
    TRY(o.opt_with("pids", r.pids, read_pids));
    TRY(o.opt_with("blockIO", r.block_io, read_block_io));
    TRY(o.opt_array("hugepageLimits", r.hugepage_limits, read_hugepage_limit));
    TRY(o.opt_with("network", r.network, read_network));
    TRY(o.opt_map("rdma", r.rdma, read_rdma));
    TRY(o.opt("unified", r.unified));
    return ok();
}

Status read_seccomp_arg(const Node& n, SeccompArg& a) {
    auto o = TRY(Object::of(n));
    TRY(o.req("index", a.index));
    TRY(o.req("value", a.value));
    TRY(o.opt("valueTwo", a.value_two));
    TRY(o.req_enum("op", a.op, enums::seccomp_operators(), "seccomp operator"));
    return ok();
}

Status read_syscall(const Node& n, SeccompSyscall& s) {
    auto o = TRY(Object::of(n));
    TRY(o.req("names", s.names));
    TRY(o.req_enum("action", s.action, enums::seccomp_actions(), "seccomp action"));
    TRY(o.opt("errnoRet", s.errno_ret));
    TRY(o.opt_array("args", s.args, read_seccomp_arg));
    return ok();
}

Status read_seccomp(const Node& n, Seccomp& s) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("defaultAction", s.default_action, enums::seccomp_actions(), "seccomp action"));
    TRY(o.opt("defaultErrnoRet", s.default_errno_ret));
    TRY(o.opt_enum_list("architectures", s.architectures, enums::seccomp_archs(),
                        "seccomp architecture"));
    TRY(o.opt_enum_list("flags", s.flags, enums::seccomp_flags(), "seccomp flag"));
    TRY(o.opt("listenerPath", s.listener_path));
    TRY(o.opt("listenerMetadata", s.listener_metadata));
    TRY(o.opt_array("syscalls", s.syscalls, read_syscall));
    return ok();
}

Status read_intel_rdt(const Node& n, IntelRdt& r) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("closID", r.clos_id));
    TRY(o.opt("schemata", r.schemata));
    TRY(o.opt("l3CacheSchema", r.l3_cache_schema));
    TRY(o.opt("memBwSchema", r.mem_bw_schema));
    TRY(o.opt("enableCMT", r.enable_cmt));
    TRY(o.opt("enableMBM", r.enable_mbm));
    return ok();
}

Status read_personality(const Node& n, Personality& p) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("domain", p.domain, enums::personality_domains(), "personality domain"));
    TRY(o.opt("flags", p.flags));
    return ok();
}

Status read_time_offset(const Node& n, TimeOffset& t) {
    auto o = TRY(Object::of(n));
    TRY(o.opt("secs", t.secs));
    TRY(o.opt("nanosecs", t.nanosecs));
    return ok();
}

Status read_time_offsets(const Node& n, std::map<std::string, TimeOffset>& out) {
    TRY(jsonr::read_map(n, out, read_time_offset));
    auto clocks = enums::time_offset_clocks();
    for (const auto& [clock, _] : out)
        if (std::find(clocks.begin(), clocks.end(), clock) == clocks.end())
            return error(ErrorKind::invalid,
                         jsonr::member_path(n.path(), clock) + ": unknown clock '" + clock + "'");
    return ok();
}

Status read_memory_policy(const Node& n, MemoryPolicy& m) {
    auto o = TRY(Object::of(n));
    TRY(o.req_enum("mode", m.mode, enums::memory_policy_modes(), "memoryPolicy mode"));
    TRY(o.opt("nodes", m.nodes));
    TRY(o.opt_enum_list("flags", m.flags, enums::memory_policy_flags(), "memoryPolicy flag"));
    return ok();
}

Status read_linux(const Node& n, Linux& l) {
    auto o = TRY(Object::of(n));
    TRY(o.opt_array("uidMappings", l.uid_mappings, read_id_mapping));
    TRY(o.opt_array("gidMappings", l.gid_mappings, read_id_mapping));
    TRY(o.opt("sysctl", l.sysctl));
    TRY(o.opt_with("resources", l.resources, read_resources));
    TRY(o.opt("cgroupsPath", l.cgroups_path));
    TRY(o.opt_array("namespaces", l.namespaces, read_namespace));
    TRY(o.opt_array("devices", l.devices, read_device));
    TRY(o.opt_with("seccomp", l.seccomp, read_seccomp));
    TRY(o.opt_enum("rootfsPropagation", l.rootfs_propagation, enums::rootfs_propagations(),
                   "rootfsPropagation"));
    TRY(o.opt("maskedPaths", l.masked_paths));
    TRY(o.opt("readonlyPaths", l.readonly_paths));
    TRY(o.opt("mountLabel", l.mount_label));
    TRY(o.opt_with("intelRdt", l.intel_rdt, read_intel_rdt));
    TRY(o.opt_with("personality", l.personality, read_personality));
    TRY(o.opt_with("timeOffsets", l.time_offsets, read_time_offsets));
    TRY(o.opt_with("memoryPolicy", l.memory_policy, read_memory_policy));
    return ok();
}

// Top-level members this reader understands; everything else goes to Spec::extensions.
const std::set<std::string, std::less<>> kKnownTopLevel = {"ociVersion", "process",     "root",
                                                           "hostname",   "domainname",  "mounts",
                                                           "hooks",      "annotations", "linux"};

Status read_spec(const Node& n, Spec& s) {
    auto o = TRY(Object::of(n));
    TRY(o.req("ociVersion", s.oci_version));
    TRY(o.opt_with("process", s.process, read_process));
    TRY(o.opt_with("root", s.root, read_root));
    TRY(o.opt("hostname", s.hostname));
    TRY(o.opt("domainname", s.domainname));
    TRY(o.opt_array("mounts", s.mounts, read_mount));
    TRY(o.opt_with("hooks", s.hooks, read_hooks));
    TRY(o.opt("annotations", s.annotations));
    TRY(o.opt_with("linux", s.linux_, read_linux));
    s.extensions = nlohmann::json::object();
    for (auto it = n.value().begin(); it != n.value().end(); ++it)
        if (!kKnownTopLevel.count(it.key())) s.extensions[it.key()] = it.value();
    return ok();
}

}  // namespace

Result<Spec> parse_config_json(const nlohmann::json& j) {
    Spec s;
    TRY(read_spec(Node(j, ""), s));
    return s;
}

Result<Spec> parse_config(const std::string& json_text) {
    auto j = TRY(jsonr::parse_text(json_text));
    return parse_config_json(j);
}

Result<Spec> load_config(const std::string& path) {
    auto text = TRY_CTX(read_file(path), "config.json");
    return TRY_CTX(parse_config(text), "config.json");
}

Result<Resources> parse_resources_json(const nlohmann::json& j) {
    Resources r;
    TRY(read_resources(Node(j, ""), r));
    return r;
}

Result<Resources> parse_resources(const std::string& json_text) {
    auto j = TRY(jsonr::parse_text(json_text));
    return parse_resources_json(j);
}

Result<Process> parse_process_json(const nlohmann::json& j) {
    Process p;
    TRY(read_process(Node(j, ""), p));
    return p;
}

Result<Process> parse_process(const std::string& json_text) {
    auto j = TRY(jsonr::parse_text(json_text));
    return parse_process_json(j);
}

}  // namespace berth::spec
