// Process attributes applied just before exec: scheduler, I/O priority, CPU affinity,
// personality, LSM labels. Parsed and checked in the parent; applied in the child.
#pragma once

#include <sched.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// The kernel's struct sched_attr (glibc 2.36 has no wrapper).
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

struct ProcessAttrs {
    std::optional<SchedAttr> sched;
    std::optional<int> ioprio;  // encoded class<<13 | level
    std::optional<cpu_set_t> cpus_initial, cpus_final;
    std::optional<unsigned long> personality;
    std::string apparmor_profile;
    std::string selinux_label;
};

// `field` prefixes errors ("config.json: process", or the exec process's file); the spec's
// personality lives in linux.
Result<ProcessAttrs> plan_process_attrs(const spec::Process& p,
                                        const std::optional<spec::Personality>& pers,
                                        const std::string& field);
Result<cpu_set_t> parse_cpu_list(const std::string& list);

bool apparmor_enabled();
bool selinux_enabled();

// Early in the child (initial affinity) and just before exec (the rest).
Status apply_initial_affinity(const ProcessAttrs& a);
Status apply_process_attrs(const ProcessAttrs& a);
// LSM exec labels: written to /proc/self/attr/... so they take effect at execve.
Status apply_lsm_labels(const ProcessAttrs& a);

}  // namespace berth::runtime::linux_
