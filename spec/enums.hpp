// The closed value sets of runtime-spec 1.2 fields (namespace types, rlimits, seccomp names...).
#pragma once

#include <span>
#include <string_view>

namespace berth::spec::enums {

using List = std::span<const std::string_view>;

List namespace_types();      // pid, network, mount, ipc, uts, user, cgroup, time
List rlimit_types();         // RLIMIT_*
List seccomp_actions();      // SCMP_ACT_*
List seccomp_operators();    // SCMP_CMP_*
List seccomp_archs();        // SCMP_ARCH_*
List seccomp_flags();        // SECCOMP_FILTER_FLAG_*
List scheduler_policies();   // SCHED_*
List scheduler_flags();      // SCHED_FLAG_*
List ioprio_classes();       // IOPRIO_CLASS_*
List personality_domains();  // LINUX, LINUX32
List rootfs_propagations();  // private, shared, slave, unbindable (and runc's r* forms)
List device_types();         // c, b, u, p
List cgroup_device_types();  // a, c, b
List memory_policy_modes();  // MPOL_*
List memory_policy_flags();  // MPOL_F_*
List time_offset_clocks();   // monotonic, boottime
List hook_kinds();           // prestart, createRuntime, ... in runtime-spec order

}  // namespace berth::spec::enums
