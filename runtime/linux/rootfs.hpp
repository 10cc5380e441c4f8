// The container's root filesystem: planned in the parent, set up in the child.
//
// This is the seam between the process model (clone, sync, init: runtime/) and the isolation
// of the filesystem (mounts, devices, masked/readonly paths, sysctl: runtime/linux/).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// Everything about the rootfs that can be worked out before clone: absolute rootfs path,
// parsed mount flags and data for every mounts[] entry, devices to create, propagation.
// Bad input (unknown mount option, relative destination) fails here, before any process or
// mount exists.
struct RootfsPlan;
struct RootfsPlanDeleter {
    void operator()(RootfsPlan*) const;
};
using RootfsPlanPtr = std::unique_ptr<RootfsPlan, RootfsPlanDeleter>;

Result<RootfsPlanPtr> plan_rootfs(const spec::Spec& spec, const std::string& bundle_dir);

// With a user namespace, called in the parent after plan_rootfs: every bind source is cloned
// here, with the host's privilege, and the child attaches those trees (the destinations are
// still resolved inside the root, in the child). The fds are CLOEXEC and reach init by fork.
Status open_bind_sources(RootfsPlan& plan);

struct RootfsContext {
    bool no_pivot = false;           // --no-pivot: MS_MOVE + chroot instead of pivot_root
    int console_slave_fd = -1;       // a pty made before the setup: bound at /dev/console
    bool console = false;            // make /dev/console a mount point for after_pivot's pty
    bool in_user_namespace = false;  // devices are bind-mounted from the host, not mknod-ed
    bool new_cgroup_namespace = false;
    // Called after every mount, device and masked path is in place and before pivot_root,
    // with the cwd at the rootfs: where runtime-spec runs createContainer hooks (runc does the
    // same). A failure aborts the setup with that error.
    std::function<Status()> before_pivot;
    // Called right after pivot_root (or the --no-pivot move), before the root is made
    // read-only: where init allocates its terminal from the container's own /dev/ptmx.
    // console_ready: /dev/console is the mount point `console` asked for (berth made /dev).
    std::function<Status(bool console_ready)> after_pivot;
};

// In the child, in its new mount namespace, after namespaces are joined/created and (with a
// user namespace) after the uid/gid maps are written: makes mount propagation private,
// mounts the rootfs and every mounts[] entry in order, creates devices and /dev symlinks,
// pivots (or chroots) into the rootfs, then applies maskedPaths, readonlyPaths, root.readonly
// and linux.sysctl. On return the process's "/" is the container root.
Status setup_rootfs(const RootfsPlan& plan, const RootfsContext& ctx);

}  // namespace berth::runtime::linux_
