// Observations from /proc/self: status, mountinfo, namespaces, capabilities.
#include "conformance/observe.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/mountinfo.hpp"

namespace berth::conformance {

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    if (!f) return "";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::map<std::string, std::string> proc_status() {
    std::map<std::string, std::string> out;
    std::istringstream in(read_text("/proc/self/status"));
    std::string line;
    while (std::getline(in, line)) {
        auto c = line.find(':');
        if (c == std::string::npos) continue;
        std::string v = line.substr(c + 1);
        size_t b = v.find_first_not_of(" \t");
        out[line.substr(0, c)] = b == std::string::npos ? "" : v.substr(b);
    }
    return out;
}

std::vector<MountEntry> mountinfo() {
    std::vector<MountEntry> out;
    for (auto& m : parse_mountinfo(read_text("/proc/self/mountinfo"))) {
        MountEntry e;
        e.mount_point = m.mount_point;
        e.per_mount_options = m.options;
        for (auto& o : m.optional)
            if (o.rfind("shared:", 0) == 0 || o.rfind("master:", 0) == 0 || o == "unbindable")
                e.propagation += (e.propagation.empty() ? "" : " ") + o;
        e.fstype = m.fstype;
        e.source = m.source;
        e.super_options = m.super_options;
        out.push_back(std::move(e));
    }
    return out;
}

std::optional<MountEntry> mount_at(const std::vector<MountEntry>& m, const std::string& path) {
    std::optional<MountEntry> found;
    for (const auto& e : m)
        if (e.mount_point == path) found = e;
    return found;
}

bool has_option(const MountEntry& e, const std::string& opt) {
    for (const auto& o : e.per_mount_options)
        if (o == opt) return true;
    for (const auto& o : e.super_options)
        if (o == opt) return true;
    return false;
}

int cap_number(const std::string& name) {
    static const char* const kCaps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    };
    for (int i = 0; i < int(sizeof kCaps / sizeof kCaps[0]); ++i)
        if (name == kCaps[i]) return i;
    return -1;
}

uint64_t cap_mask(const std::vector<std::string>& names) {
    // The kernel only reports the caps it knows; unknown names in the config are ignored by
    // runtimes too (with a warning), so they do not count here.
    int last = std::stoi("0" + read_text("/proc/sys/kernel/cap_last_cap"));
    uint64_t m = 0;
    for (const auto& n : names) {
        int b = cap_number(n);
        if (b >= 0 && b <= last) m |= uint64_t(1) << b;
    }
    return m;
}

std::string ns_inode(const std::string& nsname) {
    char buf[128];
    ssize_t n = readlink(("/proc/self/ns/" + nsname).c_str(), buf, sizeof buf - 1);
    if (n <= 0) return "";
    return std::string(buf, size_t(n));
}

}  // namespace berth::conformance
