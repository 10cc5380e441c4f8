// The container rootfs: planned in the parent, built in the child. Order of operations (the
// why of each step is at the step):
//   1. "/" becomes rslave (or rootfsPropagation), the rootfs's parent mount private;
//   2. the rootfs is bind-mounted onto itself (or a filesystem given as mounts[0] at "/" is
//      mounted on it); its mount fd is the root for every lookup;
//   3. mounts[] in order, each onto an fd resolved inside the root;
//   4. /dev nodes, symlinks, ptmx, console (unless /dev is a bind mount); a read-only /dev
//      becomes read-only only now;
//   5. linux.sysctl, readonlyPaths, maskedPaths (sysctl first: /proc/sys is usually read-only
//      afterwards), still before the pivot: masking binds the host's verified /dev/null, and
//      a mount outside the new root can no longer be cloned once the old root is detached.
//      Everything is reached through the root fd, so the result is the same as runc's
//      after-pivot order;
//   then RootfsContext::before_pivot (createContainer hooks), cwd at the rootfs;
//   6. pivot_root (or MS_MOVE + chroot with --no-pivot), rootfsPropagation on the new "/",
//      root.readonly last.
#include "runtime/linux/rootfs.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "base/mountinfo.hpp"
#include "base/unique_fd.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/masked.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/mounts_idmap.hpp"
#include "runtime/linux/sysctl.hpp"

namespace berth::runtime::linux_ {

struct RootfsPlan {
    std::string rootfs;             // absolute, symlinks on the host resolved
    bool readonly = false;          // root.readonly
    std::string cwd;                // process.cwd, made before "/" can turn read-only
    unsigned long propagation = 0;  // rootfsPropagation; 0 when not given
    // mounts[0] when it is a filesystem at "/": the rootfs itself (a rootless snapshot's
    // overlay, which only the container's own user namespace can mount).
    std::optional<PlannedMount> root_mount;
    std::vector<PlannedMount> mounts;
    std::vector<DeviceNode> devices;
    bool setup_dev = true;  // false when mounts[] bind-mounts /dev
    std::vector<std::string> masked_paths, readonly_paths;
    std::map<std::string, std::string> sysctl;
    std::vector<UniqueFd> idmap_userns;  // keep the mapping namespaces alive
};

void RootfsPlanDeleter::operator()(RootfsPlan* p) const {
    delete p;
}

namespace {

Status check_paths(const std::vector<std::string>& paths, const char* field) {
    for (size_t i = 0; i < paths.size(); ++i)
        if (paths[i].empty() || paths[i][0] != '/')
            return error(std::string(field) + "[" + std::to_string(i) + "]: '" + paths[i] +
                         "' is not absolute");
    return ok();
}

// The mount point (from mountinfo) that contains `path`.
Result<std::string> mount_point_of(const std::string& path) {
    std::string best = "/";
    for (const auto& m : TRY(read_mountinfo())) {
        const std::string& mp = m.mount_point;
        bool under = mp == "/" || path == mp || path.starts_with(mp + "/");
        if (under && mp.size() > best.size()) best = mp;
    }
    return best;
}

Status do_pivot_root(int root_fd) {
    UniqueFd oldroot(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) return sys_error("open old root");
    UniqueFd newroot(openat(root_fd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!newroot) return sys_error("open new root");
    if (fchdir(newroot.get()) < 0) return sys_error("chdir new root");
    // pivot_root(".", "."): the old root ends up mounted on top of the new one, so no
    // directory for it is needed inside the (possibly read-only) rootfs.
    if (syscall(SYS_pivot_root, ".", ".") < 0) return sys_error("pivot_root");
    if (fchdir(oldroot.get()) < 0) return sys_error("chdir old root");
    // Slave first: the detach below must not propagate back to the host's mounts.
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        return sys_error("make old root rslave");
    if (umount2(".", MNT_DETACH) < 0) return sys_error("detach old root");
    if (chdir("/") < 0) return sys_error("chdir /");
    return ok();
}

// With --no-pivot the host's mounts stay in the namespace under the moved rootfs, where a
// chroot escape would reach them. As runc's msMoveRoot does, every full proc and sysfs mount
// outside the rootfs is detached (propagation made slave first so the host keeps its own),
// or covered with an empty tmpfs where detaching is refused.
Status hide_host_proc_sys(const std::string& rootfs) {
    auto table = read_mountinfo();
    if (!table) return std::move(table).error().with_context("--no-pivot");
    std::vector<std::string> targets;
    for (const auto& m : *table) {
        if (m.root != "/" || (m.fstype != "proc" && m.fstype != "sysfs")) continue;
        if (m.mount_point == rootfs || m.mount_point.starts_with(rootfs + "/")) continue;
        targets.push_back(m.mount_point);
    }
    // Deepest first, so a parent's detach does not hide a child still to be handled.
    for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
        const char* p = it->c_str();
        if (mount(nullptr, p, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
            if (errno == ENOENT || errno == EINVAL) continue;  // already gone with a parent
            return sys_error("--no-pivot: make '" + *it + "' rslave");
        }
        if (umount2(p, MNT_DETACH) == 0) continue;
        if (errno != EINVAL && errno != EPERM) return sys_error("--no-pivot: detach '" + *it + "'");
        if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
            return sys_error("--no-pivot: cover '" + *it + "'");
    }
    return ok();
}

Status do_move_root(int root_fd, const std::string& rootfs) {
    TRY(hide_host_proc_sys(rootfs));
    if (fchdir(root_fd) < 0) return sys_error("chdir new root");
    if (move_mount(root_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return sys_error("move rootfs onto /");
    if (chroot(".") < 0) return sys_error("chroot");
    if (chdir("/") < 0) return sys_error("chdir /");
    return ok();
}

}  // namespace

Result<RootfsPlanPtr> plan_rootfs(const spec::Spec& spec, const std::string& bundle_dir) {
    RootfsPlanPtr plan(new RootfsPlan);
    if (!spec.root || spec.root->path.empty()) return error("root.path: missing");
    std::string path = spec.root->path;
    if (path[0] != '/') path = bundle_dir + "/" + path;
    char real[PATH_MAX];
    if (!realpath(path.c_str(), real)) return sys_error("root.path: '" + spec.root->path + "'");
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return error("root.path: '" + spec.root->path + "' is not a directory");
    plan->rootfs = real;
    plan->readonly = spec.root->readonly;
    if (spec.process && !spec.process->cwd.empty()) plan->cwd = spec.process->cwd;

    if (spec.linux_ && !spec.linux_->rootfs_propagation.empty())
        plan->propagation = TRY(parse_propagation(spec.linux_->rootfs_propagation));

    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        auto pm = TRY(plan_mount(spec.mounts[i], i, bundle_dir));
        if (pm.kind != MountKind::Bind && clean_path(pm.destination) == "/") {
            // Mounted after the others it would hide them; runc gets the same result only
            // when it comes first.
            if (i != 0)
                return error(pm.field + ": a filesystem at '/' must be mounts[0] (it becomes " +
                             "the rootfs, under every other mount)");
            if (pm.opts.idmap || pm.opts.remount() || pm.kind == MountKind::Cgroup)
                return error(pm.field + ": a filesystem at '/' cannot be idmapped, a remount " +
                             "or a cgroup");
            plan->root_mount = std::move(pm);
            continue;
        }
        if (pm.kind == MountKind::Bind && clean_path(pm.destination) == "/dev")
            plan->setup_dev = false;
        if (pm.opts.idmap) {
            const auto& m = spec.mounts[i];
            std::vector<spec::IDMapping> uids = m.uid_mappings, gids = m.gid_mappings;
            if (uids.empty() && spec.linux_) {
                uids = spec.linux_->uid_mappings;
                gids = spec.linux_->gid_mappings;
            }
            if (uids.empty() || gids.empty())
                return error(pm.field +
                             ": idmap needs uidMappings/gidMappings on the mount or "
                             "a user namespace mapping in linux");
            auto ns = TRY_CTX(make_mapping_userns(uids, gids), pm.field);
            TRY_CTX(make_idmapped_tree(pm, ns.get()), pm.field);
            plan->idmap_userns.push_back(std::move(ns));
        }
        plan->mounts.push_back(std::move(pm));
    }
    plan->devices = TRY(plan_devices(spec));
    if (spec.linux_) {
        TRY(check_paths(spec.linux_->masked_paths, "linux.maskedPaths"));
        TRY(check_paths(spec.linux_->readonly_paths, "linux.readonlyPaths"));
        plan->masked_paths = spec.linux_->masked_paths;
        plan->readonly_paths = spec.linux_->readonly_paths;
        TRY(validate_sysctl(spec));
        plan->sysctl = spec.linux_->sysctl;
    }
    return plan;
}

Status open_bind_sources(RootfsPlan& plan) {
    for (auto& pm : plan.mounts)
        TRY(open_bind_source(pm));
    return ok();
}

namespace {
// Before pivot, while /dev may still be written: an empty /dev/console file (replacing any
// entry there) for the terminal's slave to be bound on after pivot.
Status make_console_mount_point(int dev_fd) {
    if (::unlinkat(dev_fd, "console", 0) < 0 && errno != ENOENT)
        return sys_error("/dev/console: remove old entry");
    UniqueFd file(
        ::openat(dev_fd, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!file) return sys_error("/dev/console: create mount point");
    return ok();
}

// mounts[0] at "/" mounted on the rootfs directory. mount(2), not fsopen: fsconfig takes at
// most 256 bytes a value, and an overlay's lowerdir of absolute paths is longer; mount(2)
// takes a page, as for runc, which mounts such an entry the same way.
Result<UniqueFd> mount_root_filesystem(const PlannedMount& pm, const std::string& rootfs) {
    const unsigned long kFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
                                 MS_DIRSYNC | MS_LAZYTIME;
    std::string source = pm.source.empty() ? pm.type : pm.source;
    std::string data = pm.opts.data_string();
    std::string what = "mount '/' (" + pm.field + ") on '" + rootfs + "'";
    if (mount(source.c_str(), rootfs.c_str(), pm.type.c_str(), pm.opts.flags & kFlags,
              data.c_str()) < 0)
        return sys_error(what);
    UniqueFd root(open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return sys_error("open " + what);
    return root;
}

}  // namespace

Status setup_rootfs(const RootfsPlan& plan, const RootfsContext& ctx) {
    // 1. Nothing made here may propagate to the host: rslave keeps host mounts flowing in and
    // ours from flowing out (a given rootfsPropagation takes its place, as in runc).
    unsigned long prop = plan.propagation ? plan.propagation : (MS_SLAVE | MS_REC);
    if (mount(nullptr, "/", nullptr, prop, nullptr) < 0) return sys_error("set propagation of /");
    // pivot_root refuses a new root whose parent mount is shared.
    std::string parent = TRY_CTX(mount_point_of(plan.rootfs), "find rootfs mount");
    if (mount(nullptr, parent.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
        return sys_error("make '" + parent + "' private");

    // 2. The rootfs as a mount of its own (pivot_root needs a mount point); the tree fd is
    // the root of every in-root lookup from here on.
    UniqueFd root;
    if (plan.root_mount) {
        root = TRY(mount_root_filesystem(*plan.root_mount, plan.rootfs));
    } else {
        root =
            TRY_CTX(clone_tree(AT_FDCWD, plan.rootfs, true), "bind rootfs '" + plan.rootfs + "'");
        if (move_mount(root.get(), "", AT_FDCWD, plan.rootfs.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return sys_error("bind rootfs '" + plan.rootfs + "'");
    }

    // 3. mounts[] in order.
    MountEnv env;
    env.root_fd = root.get();
    env.in_user_namespace = ctx.in_user_namespace;
    env.new_cgroup_namespace = ctx.new_cgroup_namespace;
    bool dev_readonly = false;
    for (const auto& pm : plan.mounts) {
        MountEnv e = env;
        if (plan.setup_dev && pm.kind != MountKind::Bind && clean_path(pm.destination) == "/dev" &&
            (pm.opts.flags & MS_RDONLY)) {
            e.defer_readonly = true;
            dev_readonly = true;
        }
        TRY(do_mount(pm, e));
    }

    // 4. /dev.
    if (plan.setup_dev) {
        DeviceEnv de;
        de.root_fd = root.get();
        de.in_user_namespace = ctx.in_user_namespace;
        de.console_slave_fd = ctx.console_slave_fd;
        TRY(setup_devices(plan.devices, de));
        if (ctx.console) {
            auto dev = TRY_CTX(open_in_root(root.get(), "/dev", O_PATH | O_DIRECTORY), "/dev");
            TRY(make_console_mount_point(dev.get()));
        }
        if (dev_readonly) {
            auto dev = TRY_CTX(open_in_root(root.get(), "/dev", O_PATH | O_DIRECTORY), "/dev");
            AttrChange ro;
            ro.set = MOUNT_ATTR_RDONLY;
            TRY(set_mount_attrs(dev.get(), ro, false, "make /dev read-only"));
        }
    }

    // 5. sysctl, read-only and masked paths.
    TRY(apply_sysctl(plan.sysctl, root.get()));
    TRY(apply_readonly_paths(plan.readonly_paths, root.get()));
    if (!plan.masked_paths.empty()) {
        // The container's own /dev/null when it has one (the mount table then matches runc's),
        // the host's otherwise; either is verified to be char 1:3 first (CVE-2025-31133).
        auto devnull =
            open_in_root(root.get(), "/dev/null", O_PATH | O_NOFOLLOW, 0, kInRootNoFollowLast);
        if (!devnull && devnull.error().code() == ENOENT) devnull = open_verified_devnull();
        if (!devnull) return std::move(devnull).error().with_context("maskedPaths: /dev/null");
        TRY(apply_masked_paths(plan.masked_paths, root.get(), devnull->get()));
    }

    // As runc: a missing cwd is made now, inside the root, while "/" is still writable (a
    // read-only root would refuse it after the pivot). Failure is left for the chdir to
    // report, with the path, after the pivot.
    if (!plan.cwd.empty()) (void)mkdir_all_in_root(root.get(), plan.cwd);

    if (ctx.before_pivot) {
        if (fchdir(root.get()) < 0) return sys_error("chdir rootfs");
        TRY_CTX(ctx.before_pivot(), "before pivot_root");
    }

    // 6. Pivot, then what applies to the new "/" itself.
    if (ctx.no_pivot)
        TRY(do_move_root(root.get(), plan.rootfs));
    else
        TRY(do_pivot_root(root.get()));
    if (ctx.after_pivot) TRY(ctx.after_pivot(ctx.console && plan.setup_dev));
    UniqueFd newroot(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!newroot) return sys_error("open /");
    if (plan.propagation && mount(nullptr, "/", nullptr, plan.propagation, nullptr) < 0)
        return sys_error("linux.rootfsPropagation");
    if (plan.readonly) {
        AttrChange ro;
        ro.set = MOUNT_ATTR_RDONLY;
        TRY(set_mount_attrs(newroot.get(), ro, false, "root.readonly"));
    }
    return ok();
}

}  // namespace berth::runtime::linux_
