// An overlayfs view for a normal user: mounted in a user namespace of its own (Linux 5.11+
// lets its root mount overlayfs, with `userxattr`) and handed back as an fd, so berth-image
// can write a snapshot layer through it or read a snapshot's /etc/passwd although the mount
// itself never exists on the host (docs/layers.md, "Rootless snapshots").
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth::image::bundle {

// Mounts overlayfs with `data` (mount(2) options; relative paths are relative to `cwd`) on
// `target` (an existing directory, relative to `cwd` or absolute) inside a new user and
// mount namespace that maps the caller's uid and gid to 0, and returns an O_PATH fd of the
// overlay's root. The namespace is gone when this returns; the fd keeps the mount alive until
// it is closed. Errors name what the kernel refused (user namespaces, overlayfs in one).
Result<UniqueFd> userns_overlay(const std::string& cwd, const std::string& target,
                                const std::string& data);

}  // namespace berth::image::bundle
