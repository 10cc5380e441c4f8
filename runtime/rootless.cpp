// Rootless mode: detection, the --rootless decision, and the policies that follow from it.
#include "runtime/rootless.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/file.hpp"
#include "base/mountinfo.hpp"

namespace berth::runtime::rootless {

namespace {

enum class Mode { automatic, on, off };
Mode g_mode = Mode::automatic;

bool found_in_path(const char* name) {
    const char* path = ::getenv("PATH");
    std::stringstream ps(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(ps, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    return false;
}

}  // namespace

Status set_mode(const std::string& flag) {
    if (flag == "auto" || flag.empty())
        g_mode = Mode::automatic;
    else if (flag == "true")
        g_mode = Mode::on;
    else if (flag == "false")
        g_mode = Mode::off;
    else
        return error("--rootless: invalid value '" + flag + "' (want true, false or auto)");
    return ok();
}

bool in_partial_user_namespace() {
    auto text = read_file("/proc/self/uid_map", 1 << 16);
    if (!text) return false;
    std::istringstream in(*text);
    unsigned long inside, outside, count;
    // The initial namespace maps everything: "0 0 4294967295" as its only line.
    if (!(in >> inside >> outside >> count)) return false;
    unsigned long more;
    if (in >> more) return true;
    return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

bool enabled() {
    switch (g_mode) {
        case Mode::on:
            return true;
        case Mode::off:
            return false;
        case Mode::automatic:
            break;
    }
    static const bool detected = ::geteuid() != 0 || in_partial_user_namespace();
    return detected;
}

std::string default_state_root() {
    const char* xdg = ::getenv("XDG_RUNTIME_DIR");
    if (!xdg || !*xdg) return "/run/berth";
    // runc's shouldHonorXDGRuntimeDir: a real root ignores it; root inside a user namespace
    // (rootless podman) honours it unless USER says it is the real root's environment.
    bool honour = ::geteuid() != 0;
    if (!honour && in_partial_user_namespace()) {
        const char* user = ::getenv("USER");
        honour = !user || std::string(user) != "root";
    }
    return honour ? std::string(xdg) + "/berth" : "/run/berth";
}

std::optional<std::string> first_limit(const spec::Resources& r) {
    const std::string p = "linux.resources.";
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit) return p + "memory.limit";
        if (m.reservation) return p + "memory.reservation";
        if (m.swap) return p + "memory.swap";
        if (m.kernel) return p + "memory.kernel";
        if (m.kernel_tcp) return p + "memory.kernelTCP";
        if (m.swappiness) return p + "memory.swappiness";
        if (m.disable_oom_killer.value_or(false)) return p + "memory.disableOOMKiller";
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares) return p + "cpu.shares";
        if (c.quota) return p + "cpu.quota";
        if (c.burst) return p + "cpu.burst";
        if (c.period) return p + "cpu.period";
        if (c.realtime_runtime) return p + "cpu.realtimeRuntime";
        if (c.realtime_period) return p + "cpu.realtimePeriod";
        if (!c.cpus.empty()) return p + "cpu.cpus";
        if (!c.mems.empty()) return p + "cpu.mems";
        if (c.idle) return p + "cpu.idle";
    }
    if (r.pids && r.pids->limit) return p + "pids.limit";
    if (r.block_io) {
        const auto& b = *r.block_io;
        if (b.weight || b.leaf_weight || !b.weight_device.empty() ||
            !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
            !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty())
            return p + "blockIO";
    }
    if (!r.hugepage_limits.empty()) return p + "hugepageLimits";
    if (r.network && (r.network->class_id || !r.network->priorities.empty())) return p + "network";
    if (!r.rdma.empty()) return p + "rdma";
    if (!r.unified.empty()) return p + "unified";
    return std::nullopt;
}

Status check_delegation(const std::string& limit_field, const std::string& cgroup_dir) {
    const std::string head =
        limit_field +
        ": a rootless container can have cgroup limits only in a delegated cgroup v2 subtree";
    if (cgroup_dir.empty())
        return error(head + ", and this host has no cgroup2 hierarchy (v1 hierarchies are " +
                     "never written rootless)");
    // The nearest directory that exists must be ours to write: that is what delegation gives.
    std::string d = cgroup_dir;
    struct stat sb;
    while (!d.empty() && ::stat(d.c_str(), &sb) < 0)
        d = d.substr(0, d.rfind('/'));
    if (d.empty() || ::access(d.c_str(), W_OK) < 0)
        return error(head + "; '" + (d.empty() ? cgroup_dir : d) +
                     "' is not writable by this user (set linux.cgroupsPath under "
                     "a delegated cgroup)");
    return ok();
}

HostSupport host_support() {
    HostSupport h;
    // Debian's knob; elsewhere user.max_user_namespaces is what limits them.
    auto clone = read_file("/proc/sys/kernel/unprivileged_userns_clone", 64);
    auto max = read_file("/proc/sys/user/max_user_namespaces", 64);
    h.user_namespaces =
        (!clone || !clone->starts_with('0')) && (!max || std::atol(max->c_str()) > 0);
    h.newuidmap = found_in_path("newuidmap") && found_in_path("newgidmap");
    // A delegated subtree: the cgroup2 root is the only hierarchy and our own cgroup there is
    // writable (systemd's user@.service delegation).
    struct stat sb;
    if (::stat("/sys/fs/cgroup/cgroup.controllers", &sb) == 0) {
        auto own = read_proc_cgroup();
        if (own && own->size() == 1 && own->count(""))
            h.delegated_cgroup = ::access(("/sys/fs/cgroup" + own->at("")).c_str(), W_OK) == 0;
    }
    return h;
}

}  // namespace berth::runtime::rootless
