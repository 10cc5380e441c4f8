// In-root path resolution: every path inside a container rootfs or an unpack target is
// resolved as if the root were "/", never following a symlink or ".." out of it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth {

enum InRootFlags : unsigned {
    kInRootNone = 0,
    // Do not follow a symlink in the last component (O_PATH returns the link itself;
    // other opens fail with ELOOP).
    kInRootNoFollowLast = 1u << 0,
    // Create missing intermediate directories (mode 0755), inside the root.
    kInRootMkdirParents = 1u << 1,
    // Never use openat2 (tests use it to exercise the portable walk).
    kInRootForceWalk = 1u << 2,
    // RESOLVE_BENEATH instead of RESOLVE_IN_ROOT: a symlink or ".." that would leave the
    // root fails with EXDEV instead of being clamped to it.
    kInRootBeneath = 1u << 3,
};

// Opens `path` inside the directory `root_fd` (an O_PATH or O_DIRECTORY fd). `flags` are
// open(2) flags; O_CLOEXEC is always added. Absolute symlinks and ".." are clamped to the
// root; magic links (/proc/self/fd/N) are never followed through. With O_CREAT the last
// component is created inside the root.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0,
                              unsigned in_root_flags = kInRootNone);

// mkdir -p inside the root; returns an O_PATH|O_DIRECTORY fd of the final directory.
// Symlinks met on the way are resolved inside the root; a component that exists and is not a
// directory is an error (ENOTDIR).
Result<UniqueFd> mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode = 0755,
                                   unsigned in_root_flags = kInRootNone);

// The parent directory of `path`, resolved inside the root, plus the last component. The
// caller then uses *at() calls that do not follow the last component (mkdirat, symlinkat,
// mknodat, unlinkat, renameat, linkat without AT_SYMLINK_FOLLOW). Fails with EINVAL when the
// last component is empty, "." or ".." (the root itself has no parent inside the root).
struct ParentAndName {
    UniqueFd dir;
    std::string name;
};
Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view path,
                                          unsigned in_root_flags = kInRootNone);

// Splits a path into its non-empty components: "a//b/./c" -> a, b, ., c ("." is kept; the
// walk gives it its meaning).
std::vector<std::string> path_components(std::string_view path);

// True if openat2 can be used here (cached after the first call): false when the kernel
// lacks it (ENOSYS) or a seccomp profile refuses it (EPERM, or EINVAL as some older
// profiles answer), the cases in which crun also falls back to its own walk.
bool have_openat2();
// The errno values of openat2 that mean "resolve without it", as above.
bool openat2_unavailable(int err);

}  // namespace berth
