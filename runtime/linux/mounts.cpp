// mounts[] entries, made with the new mount API (open_tree/fsopen/fsmount + move_mount onto
// an O_PATH fd of the target): the target is the inode that was resolved inside the rootfs,
// so a symlink swapped in after the check cannot redirect the mount (CVE-2021-30465,
// CVE-2024-45310). No /proc/self/fd path is needed, so no procfs has to be trusted here.
#include "runtime/linux/mounts.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>

#include "base/in_root.hpp"
#include "base/mountinfo.hpp"
#include "runtime/linux/mounts_copyup.hpp"

namespace berth::runtime::linux_ {
namespace {

// The kernel explains fsconfig failures in the fs context's log ("e overlay: missing
// 'lowerdir'"); one line of it makes the error say what was wrong.
std::string fs_log(int fs_fd) {
    std::string out;
    char buf[512];
    for (int i = 0; i < 8; ++i) {
        ssize_t n = read(fs_fd, buf, sizeof(buf) - 1);
        if (n <= 0) break;
        std::string line(buf, size_t(n));
        if (line.size() > 2 && line[1] == ' ') line = line.substr(2);
        out = line;  // the last message is the one about the failure
    }
    return out;
}

Error fs_error(int err, int fs_fd, const std::string& what) {
    std::string detail = fs_log(fs_fd);
    return Error::sys(err, detail.empty() ? what : what + " (" + detail + ")");
}

// Files under /proc that may be overmounted (what lxcfs emulates), as runc allows.
constexpr std::array kProcOvermountable = {
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
};

// CVE-2019-16884: a mount over /proc (or over something inside it, reached by any path) could
// replace the files the runtime later writes (/proc/self/attr/*, /proc/sys/*) with plain files.
// Only procfs may sit at /proc, and inside procfs only the lxcfs files may be covered.
Status check_proc_target(const PlannedMount& pm, int target_fd, int source_fd) {
    std::string dest = clean_path(pm.destination);
    long magic = TRY(fs_magic(target_fd));
    bool on_proc = magic == PROC_SUPER_MAGIC;
    if (dest == "/proc") {
        if (pm.kind == MountKind::Proc) return ok();
        if (source_fd >= 0 && TRY(fs_magic(source_fd)) == PROC_SUPER_MAGIC) return ok();
        return error("'" + pm.destination + "' cannot be mounted: only procfs may be at /proc");
    }
    if (!on_proc && !dest.starts_with("/proc/")) return ok();
    if (source_fd >= 0 && TRY(fs_magic(source_fd)) == PROC_SUPER_MAGIC) return ok();
    for (const char* allowed : kProcOvermountable)
        if (dest == allowed) return ok();
    return error("'" + pm.destination + "' cannot be mounted: it is inside /proc");
}

MountKind kind_of(const std::string& type, bool bind) {
    if (bind) return MountKind::Bind;
    if (type == "proc") return MountKind::Proc;
    if (type == "sysfs") return MountKind::Sysfs;
    if (type == "tmpfs") return MountKind::Tmpfs;
    if (type == "devpts") return MountKind::Devpts;
    if (type == "mqueue") return MountKind::Mqueue;
    if (type == "cgroup") return MountKind::Cgroup;
    if (type == "cgroup2") return MountKind::Cgroup2;
    if (type == "overlay") return MountKind::Overlay;
    return MountKind::Other;
}

// In a user namespace the flags a mount inherited from a more privileged namespace are locked
// (nosuid, nodev, noexec, ro, atime): clearing them fails with EPERM. runc keeps them; so
// does this, by not asking to clear what the source already has.
AttrChange without_locked(AttrChange c, int src_fd) {
    struct statvfs sv;
    if (fstatvfs(src_fd, &sv) < 0) return c;
    if (sv.f_flag & ST_RDONLY) c.clr &= ~uint64_t(MOUNT_ATTR_RDONLY);
    if (sv.f_flag & ST_NOSUID) c.clr &= ~uint64_t(MOUNT_ATTR_NOSUID);
    if (sv.f_flag & ST_NODEV) c.clr &= ~uint64_t(MOUNT_ATTR_NODEV);
    if (sv.f_flag & ST_NOEXEC) c.clr &= ~uint64_t(MOUNT_ATTR_NOEXEC);
    if (sv.f_flag & ST_NODIRATIME) c.clr &= ~uint64_t(MOUNT_ATTR_NODIRATIME);
    if (c.clr & MOUNT_ATTR__ATIME) {
        c.clr &= ~uint64_t(MOUNT_ATTR__ATIME);
        c.set &= ~uint64_t(MOUNT_ATTR__ATIME);
    }
    return c;
}

Status apply_bind_attrs(int tree_fd, const PlannedMount& pm, const MountEnv& env,
                        const std::string& what) {
    AttrChange top = pm.opts.mount_attrs();
    if (!top.empty()) {
        auto st = set_mount_attrs(tree_fd, top, false, what);
        if (!st && st.error().code() == EPERM && env.in_user_namespace)
            st = set_mount_attrs(tree_fd, without_locked(top, tree_fd), false, what);
        if (!st) return st;
    }
    if (!pm.opts.recursive.empty()) {
        auto st = set_mount_attrs(tree_fd, pm.opts.recursive, true, what);
        if (!st && st.error().code() == EPERM && env.in_user_namespace)
            st = set_mount_attrs(tree_fd, without_locked(pm.opts.recursive, tree_fd), true, what);
        if (!st) return st;
    }
    return ok();
}

Status apply_propagation(int mnt_fd, const PlannedMount& pm, const std::string& what) {
    for (unsigned long p : pm.opts.propagation)
        TRY(set_propagation(mnt_fd, p, what));
    return ok();
}

Status mount_bind(const PlannedMount& pm, const MountEnv& env, const std::string& what) {
    UniqueFd owned;
    int tree = pm.idmapped_tree ? pm.idmapped_tree.get() : pm.host_tree.get();
    if (tree < 0) {
        owned = TRY_CTX(clone_tree(AT_FDCWD, pm.source, pm.opts.recursive_bind()),
                        "bind source '" + pm.source + "'");
        tree = owned.get();
    }
    struct stat st;
    if (fstat(tree, &st) < 0) return sys_error("stat bind source '" + pm.source + "'");
    bool dir = S_ISDIR(st.st_mode);
    auto target = TRY(open_mount_target(env.root_fd, pm.destination, dir, false));
    TRY(check_proc_target(pm, target.get(), tree));
    TRY(apply_bind_attrs(tree, pm, env, what));
    TRY(attach_tree(tree, target.get(), what));
    return apply_propagation(tree, pm, what);
}

// sysfs in a user namespace needs a network namespace owned by it; without one the kernel
// says EPERM and, as runc and crun do, the host's /sys is bound instead (rbind, with the
// entry's flags; the locked ones stay).
Status mount_sysfs_fallback(const PlannedMount& pm, int target_fd, const MountEnv& /*env*/,
                            const std::string& what) {
    auto tree = TRY_CTX(clone_tree(AT_FDCWD, "/sys", true), "bind host /sys");
    AttrChange c = pm.opts.mount_attrs();
    c = without_locked(c, tree.get());
    if (!c.empty()) TRY(set_mount_attrs(tree.get(), c, true, what));
    TRY(attach_tree(tree.get(), target_fd, what));
    return apply_propagation(tree.get(), pm, what);
}

Status mount_filesystem(const PlannedMount& pm, const MountEnv& env, const std::string& what) {
    // proc and sysfs must be real directories: a symlink there (CVE-2019-19921 style) is
    // refused rather than followed, even inside the root.
    bool strict = pm.kind == MountKind::Proc || pm.kind == MountKind::Sysfs;
    auto target = TRY(open_mount_target(env.root_fd, pm.destination, true, strict));
    TRY(check_proc_target(pm, target.get(), -1));
    if (pm.opts.remount()) {
        // "remount" changes the mount already at the destination (made by an earlier entry).
        TRY(set_mount_attrs(target.get(), pm.opts.mount_attrs(), false, what));
        return apply_propagation(target.get(), pm, what);
    }
    if (pm.kind == MountKind::Cgroup) return mount_cgroup(pm, target.get(), env);
    std::string source = pm.source.empty() ? pm.type : pm.source;
    MountOptions opts = pm.opts;
    if (env.defer_readonly) opts.flags &= ~MS_RDONLY;
    auto mnt = new_fs_mount(pm.type, source, opts, what);
    if (!mnt && pm.kind == MountKind::Sysfs && env.in_user_namespace &&
        (mnt.error().code() == EPERM || mnt.error().code() == EBUSY))
        return mount_sysfs_fallback(pm, target.get(), env, what);
    if (!mnt) return std::move(mnt).error();
    if (!pm.opts.recursive.empty()) TRY(set_mount_attrs(mnt->get(), pm.opts.recursive, true, what));
    if (pm.opts.tmpcopyup) TRY_CTX(copy_tree(target.get(), mnt->get()), "tmpcopyup");
    TRY(attach_tree(mnt->get(), target.get(), what));
    // CVE-2019-16884/CVE-2023-27561: what now sits at /proc or /sys must be the real thing.
    if (pm.kind == MountKind::Proc && TRY(fs_magic(mnt->get())) != PROC_SUPER_MAGIC)
        return error("not procfs after mounting");
    if (pm.kind == MountKind::Sysfs && TRY(fs_magic(mnt->get())) != SYSFS_MAGIC)
        return error("not sysfs after mounting");
    return apply_propagation(mnt->get(), pm, what);
}

}  // namespace

static std::string label(const std::string& what, const char* op) {
    return what.empty() ? std::string(op) : what + ": " + op;
}

Result<long> fs_magic(int fd) {
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0) return sys_error("statfs");
    return long(sfs.f_type);
}

Result<UniqueFd> clone_tree(int dirfd, const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    if (path.empty()) flags |= AT_EMPTY_PATH;
    int fd = open_tree(dirfd, path.c_str(), flags);
    if (fd < 0) return sys_error("open_tree");
    return UniqueFd(fd);
}

Status attach_tree(int tree_fd, int target_fd, const std::string& what) {
    if (move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
        0)
        return sys_error(label(what, "move_mount"));
    return ok();
}

Status set_mount_attrs(int mnt_fd, const AttrChange& c, bool recursive, const std::string& what) {
    struct mount_attr attr = {};
    attr.attr_set = c.set;
    attr.attr_clr = c.clr;
    if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                      sizeof(attr)) < 0)
        return sys_error(label(what, "mount_setattr"));
    return ok();
}

Status set_propagation(int mnt_fd, unsigned long ms_flags, const std::string& what) {
    struct mount_attr attr = {};
    attr.propagation = ms_flags & ~MS_REC;
    if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH | ((ms_flags & MS_REC) ? AT_RECURSIVE : 0), &attr,
                      sizeof(attr)) < 0)
        return sys_error(label(what, "set propagation"));
    return ok();
}

Result<UniqueFd> new_fs_mount(const std::string& type, const std::string& source,
                              const MountOptions& opts, const std::string& what) {
    UniqueFd fs(fsopen(type.c_str(), FSOPEN_CLOEXEC));
    if (!fs) return sys_error(label(what, "fsopen") + " '" + type + "'");
    auto set = [&](const std::string& key, const std::string* value) -> Status {
        int r = value ? fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value->c_str(), 0)
                      : fsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0);
        if (r < 0) return fs_error(errno, fs.get(), label(what, "option") + " '" + key + "'");
        return ok();
    };
    if (!source.empty()) {
        // Not every filesystem takes a source (proc, sysfs, ...): those ignore it with mount(2),
        // so do the same here.
        if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", source.c_str(), 0) < 0)
            fs_log(fs.get());
    }
    for (const auto& d : opts.data) {
        auto eq = d.find('=');
        if (eq == std::string::npos) {
            TRY(set(d, nullptr));
        } else {
            std::string value = d.substr(eq + 1);
            TRY(set(d.substr(0, eq), &value));
        }
    }
    // Superblock flags that mount(2) takes in its flags argument.
    const std::pair<unsigned long, const char*> sb_flags[] = {
        {MS_RDONLY, "ro"},     {MS_SYNCHRONOUS, "sync"},  {MS_DIRSYNC, "dirsync"},
        {MS_MANDLOCK, "mand"}, {MS_LAZYTIME, "lazytime"},
    };
    for (auto& [flag, name] : sb_flags)
        if (opts.flags & flag) TRY(set(name, nullptr));
    if (fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return fs_error(errno, fs.get(), label(what, "create") + " " + type);
    int mnt = fsmount(fs.get(), FSMOUNT_CLOEXEC, opts.fsmount_attrs());
    if (mnt < 0) return fs_error(errno, fs.get(), label(what, "fsmount"));
    return UniqueFd(mnt);
}

Result<UniqueFd> open_mount_target(int root_fd, const std::string& dest, bool directory,
                                   bool refuse_symlink_last) {
    const std::string ctx = "mount target '" + dest + "'";
    if (refuse_symlink_last) {
        auto probe = open_in_root(root_fd, dest, O_PATH | O_NOFOLLOW, 0, kInRootNoFollowLast);
        if (probe) {
            struct stat st;
            if (fstat(probe->get(), &st) < 0) return sys_error(ctx);
            if (S_ISLNK(st.st_mode))
                return Error::sys(ELOOP, ctx + ": is a symlink (must be a directory)");
        }
    }
    UniqueFd fd;
    if (directory) {
        auto dir = mkdir_all_in_root(root_fd, dest);
        if (!dir && dir.error().code() == ENOTDIR) {
            // An existing file where the directory source goes (see the words below).
            auto existing = open_in_root(root_fd, dest, O_PATH);
            struct stat est;
            if (existing && fstat(existing->get(), &est) == 0 && !S_ISDIR(est.st_mode))
                return error(ctx +
                             ": the source is a directory, the target is a file: not a directory");
        }
        if (!dir) return std::move(dir).error().with_context(ctx);
        fd = std::move(dir).value();
    } else {
        auto existing = open_in_root(root_fd, dest, O_PATH);
        if (existing) {
            fd = std::move(existing).value();
        } else if (existing.error().code() == ENOENT) {
            // Parents inside the root, then the file itself: O_CREAT resolves in root and
            // never follows a link out; O_NONBLOCK keeps a FIFO planted meanwhile from blocking.
            TRY_CTX(open_parent_in_root(root_fd, dest, kInRootMkdirParents), ctx);
            fd = TRY_CTX(open_in_root(root_fd, dest, O_CREAT | O_RDONLY | O_NONBLOCK, 0644), ctx);
        } else {
            return std::move(existing).error().with_context(ctx);
        }
    }
    struct stat st, rootst;
    if (fstat(fd.get(), &st) < 0 || fstat(root_fd, &rootst) < 0) return sys_error(ctx);
    if (st.st_dev == rootst.st_dev && st.st_ino == rootst.st_ino)
        return error(ctx + ": resolves to the container root");
    // Either way round the kernel's mount says ENOTDIR, and runc prints Go's "not a
    // directory": dockerd matches those words to add "Are you trying to mount a directory
    // onto a file (or vice-versa)?". The text is whole here (code 0), so that strerror's
    // capitalised "Not a directory" is not appended.
    if (directory && !S_ISDIR(st.st_mode))
        return error(ctx + ": the source is a directory, the target is a file: not a directory");
    if (!directory && S_ISDIR(st.st_mode))
        return error(ctx + ": the source is a file, the target is a directory: not a directory");
    return fd;
}

Result<PlannedMount> plan_mount(const spec::Mount& m, size_t index, const std::string& bundle_dir) {
    PlannedMount pm;
    pm.field = "mounts[" + std::to_string(index) + "]";
    if (m.destination.empty()) return error(pm.field + ".destination: empty");
    if (m.destination[0] != '/')
        return error(pm.field + ".destination: '" + m.destination + "' is not absolute");
    pm.destination = m.destination;
    bool bind_type = m.type == "bind";
    pm.opts = TRY(parse_mount_options(m.options, bind_type, pm.field));
    pm.kind = kind_of(m.type, pm.opts.bind());
    pm.type = m.type;
    pm.source = m.source;
    if (pm.kind == MountKind::Bind) {
        if (m.source.empty()) return error(pm.field + ".source: a bind mount needs a source");
        // runtime-spec: bind sources are absolute or relative to the bundle.
        if (m.source[0] != '/') pm.source = bundle_dir + "/" + m.source;
        if (!m.uid_mappings.empty() != !m.gid_mappings.empty())
            return error(pm.field + ": uidMappings and gidMappings go together");
        if (!m.uid_mappings.empty() && !pm.opts.idmap)
            return error(pm.field + ": uidMappings need the idmap or ridmap option");
    } else {
        if (m.type.empty()) return error(pm.field + ".type: empty for a non-bind mount");
        if (!m.uid_mappings.empty() || !m.gid_mappings.empty())
            return error(pm.field + ": uidMappings apply only to bind mounts");
    }
    if (pm.opts.tmpcopyup && pm.kind != MountKind::Tmpfs)
        return error(pm.field + ".options: tmpcopyup applies only to tmpfs mounts");
    return pm;
}

Status open_bind_source(PlannedMount& pm) {
    if (pm.kind != MountKind::Bind || pm.idmapped_tree) return ok();
    pm.host_tree = TRY_CTX(
        clone_tree(AT_FDCWD, pm.source, pm.opts.recursive_bind()),
        "mount '" + pm.destination + "' (" + pm.field + "): bind source '" + pm.source + "'");
    return ok();
}

Status make_idmapped_tree(PlannedMount& pm, int userns_fd) {
    std::string what = "mount '" + pm.destination + "' (" + pm.field + ")";
    auto tree = TRY_CTX(clone_tree(AT_FDCWD, pm.source, pm.opts.recursive_bind()),
                        what + ": bind source '" + pm.source + "'");
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = uint64_t(userns_fd);
    if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | (pm.opts.idmap_recursive ? AT_RECURSIVE : 0),
                      &attr, sizeof(attr)) < 0)
        return sys_error(what + ": idmap");
    pm.idmapped_tree = std::move(tree);
    return ok();
}

Status do_mount(const PlannedMount& pm, const MountEnv& env) {
    const std::string what;  // do_mount adds the context once
    Status st =
        pm.kind == MountKind::Bind ? mount_bind(pm, env, what) : mount_filesystem(pm, env, what);
    if (!st)
        return std::move(st).error().with_context("mount '" + pm.destination + "' (" + pm.field +
                                                  ")");
    return ok();
}

}  // namespace berth::runtime::linux_
