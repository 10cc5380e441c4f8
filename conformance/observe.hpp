// What the checker reads about its own process and mounts, from inside the container.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::conformance {

struct MountEntry {
    std::string mount_point;
    std::string fstype;
    std::string source;
    std::vector<std::string> per_mount_options;  // ro, nosuid, nodev, noexec, relatime, ...
    std::vector<std::string> super_options;
    std::string propagation;  // shared:N, master:N, or "" (private)
};

std::string read_text(const std::string& path);
// "Key:\tvalue" lines of /proc/self/status.
std::map<std::string, std::string> proc_status();
std::vector<MountEntry> mountinfo();
// The last mount at `path` (the one visible), if any.
std::optional<MountEntry> mount_at(const std::vector<MountEntry>& m, const std::string& path);
bool has_option(const MountEntry& e, const std::string& opt);
// Capability bit number for "CAP_CHOWN" etc.; -1 when unknown.
int cap_number(const std::string& name);
uint64_t cap_mask(const std::vector<std::string>& names);
// Namespace inode from /proc/self/ns/<name>.
std::string ns_inode(const std::string& nsname);

}  // namespace berth::conformance
