// Scheduler, ioprio, affinity, personality and LSM labels of the container process.
#include "runtime/linux/process_attrs.hpp"

#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/file.hpp"

namespace berth::runtime::linux_ {

namespace {
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioWhoProcess = 1;
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#define SCHED_FLAG_RECLAIM 0x02
#define SCHED_FLAG_DL_OVERRUN 0x04
#define SCHED_FLAG_KEEP_POLICY 0x08
#define SCHED_FLAG_KEEP_PARAMS 0x10
#define SCHED_FLAG_UTIL_CLAMP_MIN 0x20
#define SCHED_FLAG_UTIL_CLAMP_MAX 0x40
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif
}  // namespace

Result<cpu_set_t> parse_cpu_list(const std::string& list) {
    cpu_set_t set;
    CPU_ZERO(&set);
    size_t pos = 0;
    auto bad = [&] { return error("invalid CPU list '" + list + "'"); };
    if (list.empty()) return bad();
    while (pos < list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        std::string part = list.substr(pos, end - pos);
        char* e;
        unsigned long a = std::strtoul(part.c_str(), &e, 10), b = a;
        if (e == part.c_str()) return bad();
        if (*e == '-') {
            char* e2;
            b = std::strtoul(e + 1, &e2, 10);
            if (e2 == e + 1 || *e2) return bad();
        } else if (*e) {
            return bad();
        }
        if (b < a || b >= CPU_SETSIZE) return bad();
        for (unsigned long c = a; c <= b; ++c)
            CPU_SET(c, &set);
        pos = end + 1;
    }
    return set;
}

bool apparmor_enabled() {
    auto v = read_file("/sys/module/apparmor/parameters/enabled", 16);
    return v && !v->empty() && (*v)[0] == 'Y';
}

bool selinux_enabled() {
    struct statfs sf;
    return ::statfs("/sys/fs/selinux", &sf) == 0 && sf.f_type == SELINUX_MAGIC;
}

Result<ProcessAttrs> plan_process_attrs(const spec::Process& p,
                                        const std::optional<spec::Personality>& pers,
                                        const std::string& field) {
    ProcessAttrs a;
    if (p.scheduler) {
        const auto& s = *p.scheduler;
        SchedAttr at{};
        at.size = sizeof at;
        static const std::pair<const char*, int> pols[] = {{"SCHED_OTHER", SCHED_OTHER},
                                                           {"SCHED_FIFO", SCHED_FIFO},
                                                           {"SCHED_RR", SCHED_RR},
                                                           {"SCHED_BATCH", SCHED_BATCH},
                                                           {"SCHED_ISO", 4},
                                                           {"SCHED_IDLE", SCHED_IDLE},
                                                           {"SCHED_DEADLINE", SCHED_DEADLINE}};
        int pol = -1;
        for (auto& [n, v] : pols)
            if (s.policy == n) pol = v;
        if (pol < 0) return error(field + ".scheduler.policy: unknown policy '" + s.policy + "'");
        at.sched_policy = uint32_t(pol);
        static const std::pair<const char*, uint64_t> flags[] = {
            {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK},
            {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
            {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},
            {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
            {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},
            {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
            {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX}};
        for (const auto& f : s.flags) {
            bool found = false;
            for (auto& [n, v] : flags)
                if (f == n) at.sched_flags |= v, found = true;
            if (!found) return error(field + ".scheduler.flags: unknown flag '" + f + "'");
        }
        at.sched_nice = s.nice.value_or(0);
        at.sched_priority = uint32_t(s.priority.value_or(0));
        at.sched_runtime = s.runtime.value_or(0);
        at.sched_deadline = s.deadline.value_or(0);
        at.sched_period = s.period.value_or(0);
        a.sched = at;
    }
    if (p.io_priority) {
        int cls;
        if (p.io_priority->klass == "IOPRIO_CLASS_RT")
            cls = 1;
        else if (p.io_priority->klass == "IOPRIO_CLASS_BE")
            cls = 2;
        else if (p.io_priority->klass == "IOPRIO_CLASS_IDLE")
            cls = 3;
        else
            return error(field + ".ioPriority.class: unknown class '" + p.io_priority->klass + "'");
        if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
            return error(field + ".ioPriority.priority: must be 0..7");
        a.ioprio = (cls << kIoprioClassShift) | p.io_priority->priority;
    }
    if (p.exec_cpu_affinity) {
        if (!p.exec_cpu_affinity->initial.empty())
            a.cpus_initial = TRY_CTX(parse_cpu_list(p.exec_cpu_affinity->initial),
                                     field + ".execCPUAffinity.initial");
        if (!p.exec_cpu_affinity->final.empty())
            a.cpus_final = TRY_CTX(parse_cpu_list(p.exec_cpu_affinity->final),
                                   field + ".execCPUAffinity.final");
    }
    if (pers) {
        if (pers->domain == "LINUX")
            a.personality = PER_LINUX;
        else if (pers->domain == "LINUX32")
            a.personality = PER_LINUX32;
        else
            return error("config.json: linux.personality.domain: unknown domain '" + pers->domain +
                         "'");
    }
    if (!p.apparmor_profile.empty()) {
        if (!apparmor_enabled())
            return error(field + ".apparmorProfile: AppArmor is not enabled on this host");
        a.apparmor_profile = p.apparmor_profile;
    }
    if (!p.selinux_label.empty()) {
        if (!selinux_enabled())
            return error(field + ".selinuxLabel: SELinux is not enabled on this host");
        a.selinux_label = p.selinux_label;
    }
    return a;
}

Status apply_initial_affinity(const ProcessAttrs& a) {
    if (a.cpus_initial && ::sched_setaffinity(0, sizeof(cpu_set_t), &*a.cpus_initial) < 0)
        return sys_error("set initial CPU affinity");
    return ok();
}

Status apply_process_attrs(const ProcessAttrs& a) {
    if (a.sched) {
        SchedAttr at = *a.sched;
        if (::syscall(SYS_sched_setattr, 0, &at, 0) < 0) return sys_error("set scheduler");
    }
    if (a.ioprio && ::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, *a.ioprio) < 0)
        return sys_error("set I/O priority");
    if (a.cpus_final && ::sched_setaffinity(0, sizeof(cpu_set_t), &*a.cpus_final) < 0)
        return sys_error("set final CPU affinity");
    if (a.personality && ::personality(*a.personality) < 0) return sys_error("set personality");
    return ok();
}

Status apply_lsm_labels(const ProcessAttrs& a) {
    if (!a.apparmor_profile.empty()) {
        // The newer per-LSM path first; older kernels only have the shared one.
        auto st = write_file("/proc/self/attr/apparmor/exec", "exec " + a.apparmor_profile);
        if (!st) st = write_file("/proc/self/attr/exec", "exec " + a.apparmor_profile);
        if (!st) return std::move(st).error().with_context("set AppArmor profile");
    }
    if (!a.selinux_label.empty())
        TRY_CTX(write_file("/proc/self/attr/exec", a.selinux_label), "set SELinux label");
    return ok();
}

}  // namespace berth::runtime::linux_
