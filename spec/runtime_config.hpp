// OCI runtime-spec 1.2 config.json types for Linux, with strict reading and faithful writing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec {

inline constexpr const char* kRuntimeSpecVersion = "1.2.0";

struct Box {
    uint32_t height = 0;
    uint32_t width = 0;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username;  // Windows only; kept for round-trip
};

struct Capabilities {
    std::optional<std::vector<std::string>> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE,
                         // SCHED_DEADLINE
    std::optional<int32_t> nice;
    std::optional<int32_t> priority;
    std::vector<std::string> flags;
    std::optional<uint64_t> runtime, deadline, period;
};

struct IOPriority {
    std::string klass;  // JSON "class": IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE
    int32_t priority = 0;
};

struct CPUAffinity {
    std::string initial;  // cpu list "0-3,7"
    std::string final;
};

struct Process {
    bool terminal = false;
    std::optional<Box> console_size;
    User user;
    std::vector<std::string> args;
    std::optional<std::string> command_line;
    std::vector<std::string> env;
    std::string cwd;
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::optional<Scheduler> scheduler;
    std::string selinux_label;
    std::optional<IOPriority> io_priority;
    std::optional<CPUAffinity> exec_cpu_affinity;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct IDMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    std::vector<IDMapping> uid_mappings, gid_mappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

struct Namespace {
    std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
    std::string path;
};

struct Device {
    std::string type;  // c, b, u, p
    std::string path;
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid, gid;
};

struct DeviceCgroup {
    bool allow = false;
    std::string type;  // a, c, b ("" = all)
    std::optional<int64_t> major, minor;
    std::string access;  // rwm
};

struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};

struct Pids {
    std::optional<int64_t> limit;
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};

struct BlockIO {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device,
        throttle_read_iops_device, throttle_write_iops_device;
};

struct HugepageLimit {
    std::string page_size;  // "2MB"
    uint64_t limit = 0;
};

struct InterfacePriority {
    std::string name;
    uint32_t priority = 0;
};

struct Network {
    std::optional<uint32_t> class_id;
    std::vector<InterfacePriority> priorities;
};

struct Rdma {
    std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
    std::vector<DeviceCgroup> devices;
    std::optional<Memory> memory;
    std::optional<Cpu> cpu;
    std::optional<Pids> pids;
    std::optional<BlockIO> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<Network> network;
    std::map<std::string, Rdma> rdma;
    std::map<std::string, std::string> unified;
};

struct SeccompArg {
    uint32_t index = 0;
    uint64_t value = 0;
    std::optional<uint64_t> value_two;
    std::string op;  // SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_*
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_*
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompSyscall> syscalls;
};

struct IntelRdt {
    std::string clos_id, l3_cache_schema, mem_bw_schema;
    std::string schemata;  // written as is to resctrl's schemata file (runtime-spec 1.2)
    std::optional<bool> enable_cmt, enable_mbm;
};

struct Personality {
    std::string domain;  // LINUX, LINUX32
    std::vector<std::string> flags;
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

struct MemoryPolicy {
    std::string mode;  // MPOL_*
    std::string nodes;
    std::vector<std::string> flags;
};

struct Linux {
    std::vector<IDMapping> uid_mappings, gid_mappings;
    std::map<std::string, std::string> sysctl;
    std::optional<Resources> resources;
    std::string cgroups_path;
    std::vector<Namespace> namespaces;
    std::vector<Device> devices;
    std::optional<Seccomp> seccomp;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string mount_label;
    std::optional<IntelRdt> intel_rdt;
    std::optional<Personality> personality;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    std::optional<MemoryPolicy> memory_policy;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    std::optional<Root> root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    std::optional<Hooks> hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux_;  // "linux" is a predefined macro under GNU C++
    // Top-level members this version does not know, kept for round-trip.
    nlohmann::json extensions = nlohmann::json::object();
};

// Reads config.json text strictly: wrong types, unknown enum values and missing required
// fields fail with the JSON path ("process.rlimits[1].hard: expected unsigned integer").
// Unknown fields are ignored (top-level ones kept in `extensions`).
Result<Spec> parse_config(const std::string& json_text);
Result<Spec> load_config(const std::string& path);  // errors prefixed "config.json: "
// Checks the rules the schema cannot express (absolute mount destinations, namespace
// types unique, uid mappings with a user namespace, ...). Errors name the field.
Status validate(const Spec& spec);
// A mount's destination as an absolute path: runtime-spec 1.1+ deprecates relative
// destinations but says they are relative to "/" (so "data" is "/data").
std::string mount_destination(const Mount& m);
// The process rules alone (exec --process): args non-empty, absolute cwd, rlimits, ranges.
Status validate(const Process& process);
// Writes the JSON form (runc's field order where it matters; optional fields omitted).
nlohmann::json to_json(const Spec& spec);
// The same in runc's member order (what `berth spec` and the state directory write).
nlohmann::ordered_json to_ordered_json(const Spec& spec);
// runc writes config.json with one tab per level: to_string(spec, 1, '\t').
std::string to_string(const Spec& spec, int indent = 2, char indent_char = ' ');
// The default config `berth spec` prints (runc spec's defaults); rootless variant adds a
// user namespace mapping the caller's uid/gid.
Spec default_spec(bool rootless = false, uint32_t uid = 0, uint32_t gid = 0);

// LinuxResources alone (what `update --resources` reads, as containerd sends it).
Result<Resources> parse_resources(const std::string& json_text);
nlohmann::json to_json(const Resources& r);
std::string to_string(const Resources& r, int indent = 2);
// Process alone (what `exec --process` reads).
Result<Process> parse_process(const std::string& json_text);
nlohmann::json to_json(const Process& p);
std::string to_string(const Process& p, int indent = 2);
// Already-parsed JSON (a config embedded in another document); same rules and paths.
Result<Spec> parse_config_json(const nlohmann::json& j);
Result<Resources> parse_resources_json(const nlohmann::json& j);
Result<Process> parse_process_json(const nlohmann::json& j);

}  // namespace berth::spec
