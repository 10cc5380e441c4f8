// /proc/<pid>/mountinfo and /proc/<pid>/cgroup, parsed once for everyone who needs the mount
// table or a process's cgroups (the rootfs code, cgroup discovery, rootless detection, the
// conformance checker). Fields per proc(5); paths unescaped.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace berth {

struct MountInfo {
    int id = 0;
    int parent = 0;
    std::string dev;                    // major:minor
    std::string root;                   // the mount's root within its filesystem
    std::string mount_point;            // relative to the reader's root
    std::vector<std::string> options;   // per-mount options (rw, nosuid, ...)
    std::vector<std::string> optional;  // shared:N, master:N, propagate_from:N, unbindable
    std::string fstype;                 // e.g. "ext4", "cgroup", "fuse.sshfs"
    std::string source;
    std::vector<std::string> super_options;  // superblock options
};

// Undoes mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).
std::string unescape_mountinfo(std::string_view s);
// Lines that do not have every field are skipped.
std::vector<MountInfo> parse_mountinfo(std::string_view text);
Result<std::vector<MountInfo>> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

// /proc/<pid>/cgroup: each controller of a line ("cpu", "name=systemd") to that line's path;
// the cgroup2 line ("0::/x") under the key "". Malformed lines are skipped.
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);
Result<std::map<std::string, std::string>> read_proc_cgroup(
    const std::string& path = "/proc/self/cgroup");

// Fields of `s` between each `sep`, empty ones included ("a,,b," -> a, "", b, "").
std::vector<std::string> split(std::string_view s, char sep);

// Lexically cleaned absolute path: "/proc/../proc/./sys//" -> "/proc/sys"; "" -> "/".
std::string clean_path(std::string_view p);

}  // namespace berth
