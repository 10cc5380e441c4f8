// Value sets from runtime-spec 1.2 (config.md, config-linux.md) plus the extras runc accepts.
#include "spec/enums.hpp"

namespace berth::spec::enums {

namespace {

constexpr std::string_view kNamespaces[] = {"pid", "network", "mount",  "ipc",
                                            "uts", "user",    "cgroup", "time"};

constexpr std::string_view kRlimits[] = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

constexpr std::string_view kSeccompActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::string_view kSeccompOperators[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                                  "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                                  "SCMP_CMP_MASKED_EQ"};

// runtime-spec's list plus RISCV64 and LOONGARCH64, which engines already emit.
constexpr std::string_view kSeccompArchs[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64"};

// TSYNC is not in the spec but runc accepts it (it always syncs threads anyway).
constexpr std::string_view kSeccompFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

constexpr std::string_view kSchedPolicies[] = {"SCHED_OTHER",   "SCHED_FIFO", "SCHED_RR",
                                               "SCHED_BATCH",   "SCHED_ISO",  "SCHED_IDLE",
                                               "SCHED_DEADLINE"};

constexpr std::string_view kSchedFlags[] = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
                                            "SCHED_FLAG_DL_OVERRUN",    "SCHED_FLAG_KEEP_POLICY",
                                            "SCHED_FLAG_KEEP_PARAMS",   "SCHED_FLAG_UTIL_CLAMP_MIN",
                                            "SCHED_FLAG_UTIL_CLAMP_MAX"};

constexpr std::string_view kIoprioClasses[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                               "IOPRIO_CLASS_IDLE"};

constexpr std::string_view kPersonalityDomains[] = {"LINUX", "LINUX32"};

// The spec lists the first four; runc also takes the recursive spellings Docker writes.
constexpr std::string_view kRootfsPropagations[] = {"private",  "shared",  "slave",  "unbindable",
                                                    "rprivate", "rshared", "rslave", "runbindable"};

constexpr std::string_view kDeviceTypes[] = {"c", "b", "u", "p"};

constexpr std::string_view kCgroupDeviceTypes[] = {"a", "c", "b"};

constexpr std::string_view kMemoryPolicyModes[] = {
    "MPOL_DEFAULT",   "MPOL_BIND",           "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
    "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"};

constexpr std::string_view kMemoryPolicyFlags[] = {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
                                                   "MPOL_F_STATIC_NODES"};

constexpr std::string_view kTimeClocks[] = {"monotonic", "boottime"};

constexpr std::string_view kHookKinds[] = {"prestart",       "createRuntime", "createContainer",
                                           "startContainer", "poststart",     "poststop"};

}  // namespace

List namespace_types() {
    return kNamespaces;
}
List rlimit_types() {
    return kRlimits;
}
List seccomp_actions() {
    return kSeccompActions;
}
List seccomp_operators() {
    return kSeccompOperators;
}
List seccomp_archs() {
    return kSeccompArchs;
}
List seccomp_flags() {
    return kSeccompFlags;
}
List scheduler_policies() {
    return kSchedPolicies;
}
List scheduler_flags() {
    return kSchedFlags;
}
List ioprio_classes() {
    return kIoprioClasses;
}
List personality_domains() {
    return kPersonalityDomains;
}
List rootfs_propagations() {
    return kRootfsPropagations;
}
List device_types() {
    return kDeviceTypes;
}
List cgroup_device_types() {
    return kCgroupDeviceTypes;
}
List memory_policy_modes() {
    return kMemoryPolicyModes;
}
List memory_policy_flags() {
    return kMemoryPolicyFlags;
}
List time_offset_clocks() {
    return kTimeClocks;
}
List hook_kinds() {
    return kHookKinds;
}

}  // namespace berth::spec::enums
