// /proc/<pid>/mountinfo, parsed once for everyone who needs the mount table (the rootfs code,
// cgroup v1 discovery, the conformance checker). Fields per proc(5); paths unescaped.
#pragma once

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

// Lexically cleaned absolute path: "/proc/../proc/./sys//" -> "/proc/sys"; "" -> "/".
std::string clean_path(std::string_view p);

}  // namespace berth
