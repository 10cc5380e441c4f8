// maskedPaths and readonlyPaths, resolved inside the container root.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth::runtime::linux_ {

// Opens the host's /dev/null and checks it is the real one (char 1:3). Done before pivoting,
// while the host's /dev is what "/dev" means.
Result<UniqueFd> open_verified_devnull();
// CVE-2025-31133: a "/dev/null" that is something else (a symlink to
// /proc/sys/kernel/core_pattern, a plain file) would turn masking into exposing.
Status verify_devnull(int fd);

// Each path: a file is covered by a bind of `devnull_fd`, a directory by an empty read-only
// tmpfs. Missing paths are skipped.
Status apply_masked_paths(const std::vector<std::string>& paths, int root_fd, int devnull_fd);
// Each path: bound onto itself (recursively) and made read-only. Missing paths are skipped.
Status apply_readonly_paths(const std::vector<std::string>& paths, int root_fd);

}  // namespace berth::runtime::linux_
