// The default config `berth spec` prints: runc spec's defaults field for field (runc 1.1),
// with berth's name as hostname and this runtime-spec version.
#include "spec/runtime_config.hpp"

namespace berth::spec {

namespace {

std::vector<std::string> default_caps() {
    return {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
}

}  // namespace

Spec default_spec(bool rootless, uint32_t uid, uint32_t gid) {
    Spec s;
    s.oci_version = kRuntimeSpecVersion;

    Process p;
    p.terminal = true;
    p.args = {"sh"};
    p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
    p.cwd = "/";
    Capabilities caps;
    caps.bounding = default_caps();
    caps.effective = default_caps();
    caps.permitted = default_caps();
    caps.ambient = default_caps();
    p.capabilities = caps;
    p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
    p.no_new_privileges = true;
    s.process = p;

    s.root = Root{"rootfs", true};
    s.hostname = "berth";

    s.mounts = {
        {"/proc", "proc", "proc", {}, {}, {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
         {},
         {}},
        {"/dev/shm",
         "tmpfs",
         "shm",
         {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
         {},
         {}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
        {"/sys/fs/cgroup",
         "cgroup",
         "cgroup",
         {"nosuid", "noexec", "nodev", "relatime", "ro"},
         {},
         {}},
    };

    Linux l;
    Resources res;
    res.devices = {DeviceCgroup{false, "", std::nullopt, std::nullopt, "rwm"}};
    l.resources = res;
    l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
    l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                      "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                      "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                      "/proc/scsi"};
    l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

    if (rootless) {
        // What runc's specconv.ToRootless does: map the caller to root, drop the network
        // namespace (no veth without privilege), bind /sys instead of mounting sysfs, drop
        // gid=5 from devpts (that group is unmapped) and the device cgroup rules (no cgroup
        // write access).
        l.uid_mappings = {IDMapping{0, uid, 1}};
        l.gid_mappings = {IDMapping{0, gid, 1}};
        std::vector<Namespace> kept;
        for (const auto& ns : l.namespaces)
            if (ns.type != "network") kept.push_back(ns);
        kept.push_back({"user", ""});
        l.namespaces = kept;
        l.resources.reset();
        for (auto& m : s.mounts) {
            if (m.destination == "/sys") {
                m.type = "none";
                m.source = "/sys";
                m.options = {"rbind", "nosuid", "noexec", "nodev", "ro"};
            } else if (m.destination == "/dev/pts") {
                std::erase(m.options, "gid=5");
            }
        }
    }
    s.linux_ = l;
    return s;
}

}  // namespace berth::spec
