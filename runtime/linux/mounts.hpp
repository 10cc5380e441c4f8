// One mounts[] entry made inside the container rootfs, always onto an fd that was resolved
// inside the root (never onto a path string that could be swapped afterwards).
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "runtime/linux/mount_options.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

enum class MountKind { Bind, Proc, Sysfs, Tmpfs, Devpts, Mqueue, Cgroup, Cgroup2, Overlay, Other };

// A mounts[] entry as planned in the parent.
struct PlannedMount {
    std::string field;        // "mounts[3]", for errors
    std::string destination;  // absolute, as given (resolved in root at mount time)
    std::string type;         // filesystem type for fsopen (empty for binds)
    std::string source;       // binds: absolute host path (relative ones joined to the bundle)
    MountKind kind = MountKind::Other;
    MountOptions opts;
    // idmap/ridmap: the idmapped detached tree, made in the parent (an idmapped mount of a
    // host filesystem needs privilege over the filesystem's user namespace, which the child in
    // a container user namespace does not have).
    UniqueFd idmapped_tree;
    // With a user namespace: the bind source cloned in the parent, which still has the host's
    // privilege (a source under a directory only host root may enter is out of reach of the
    // container's root). As runc opens mount sources on the host side.
    UniqueFd host_tree;
};

struct MountEnv {
    int root_fd = -1;  // O_PATH fd of the rootfs (the bind of it onto itself)
    bool in_user_namespace = false;
    bool new_cgroup_namespace = false;
    // A read-only /dev tmpfs is mounted read-write and made read-only after the device nodes
    // are in it (runc does the same).
    bool defer_readonly = false;
};

// Plans one mounts[] entry: kind, parsed options, absolute bind source, checks that need no
// filesystem access. Idmapped trees are made separately (make_idmapped_tree).
Result<PlannedMount> plan_mount(const spec::Mount& m, size_t index, const std::string& bundle_dir);

// Clones a bind entry's source tree (open_tree OPEN_TREE_CLONE, recursive for rbind) into
// pm.host_tree; the child attaches it instead of opening the path.
Status open_bind_source(PlannedMount& pm);

// Makes the idmapped detached tree of a bind mount with the given user namespace fd.
Status make_idmapped_tree(PlannedMount& pm, int userns_fd);

// Mounts one entry in the child. Errors read "mount '/dest' (mounts[3]): ...".
Status do_mount(const PlannedMount& pm, const MountEnv& env);

// --- primitives shared with devices, masked paths and rootfs setup ---

// open_tree(OPEN_TREE_CLONE) of a host path or (path empty) of an fd.
Result<UniqueFd> clone_tree(int dirfd, const std::string& path, bool recursive);
// move_mount of a detached tree onto the target fd.
Status attach_tree(int tree_fd, int target_fd, const std::string& what);
// mount_setattr on a mount fd (top mount only, or the whole tree).
Status set_mount_attrs(int mnt_fd, const AttrChange& c, bool recursive, const std::string& what);
Status set_propagation(int mnt_fd, unsigned long ms_flags, const std::string& what);
// fsopen + fsconfig + fsmount: a new detached mount of a filesystem.
Result<UniqueFd> new_fs_mount(const std::string& type, const std::string& source,
                              const MountOptions& opts, const std::string& what);

// The mount target: `dest` resolved (and created) inside the root: a directory, or for a
// file source an empty file created inside the root with O_NOFOLLOW. Refuses a destination
// that resolves to the root itself.
Result<UniqueFd> open_mount_target(int root_fd, const std::string& dest, bool directory,
                                   bool refuse_symlink_last);

// fstatfs magic of an fd.
Result<long> fs_magic(int fd);

// Host cgroup mounts (mounts_cgroup.cpp).
Status mount_cgroup(const PlannedMount& pm, int target_fd, const MountEnv& env);

}  // namespace berth::runtime::linux_
