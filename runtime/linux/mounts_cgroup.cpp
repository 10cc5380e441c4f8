// A `cgroup` mount: on a cgroup v1 or hybrid host, a tmpfs with one directory per v1 hierarchy
// (as runc does; the hybrid host's unified hierarchy is not part of the v1 view); on a pure v2
// host a cgroup2 mount. Inside a new cgroup namespace the hierarchies are mounted fresh (the
// namespace makes the container's cgroup their root); without one the container's own cgroup
// directories are bind-mounted from the host, so it never sees its siblings.
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <vector>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "base/mountinfo.hpp"
#include "runtime/linux/mounts.hpp"

namespace berth::runtime::linux_ {
namespace {

struct Hierarchy {
    std::string mountpoint;            // host path, e.g. /sys/fs/cgroup/cpu
    std::string root;                  // mountinfo root of that mount
    std::vector<std::string> options;  // superblock options: controllers and name=
};

// The v1 hierarchies this process sees, from its mountinfo (fstype "cgroup"), leaving out
// copies under the container's rootfs (`rootfs`, with its trailing '/'): an rbind of the
// host's /sys cloned before this mount namespace was made has older mount ids, so the kernel
// lists it first, but its cgroup directories are covered by the tmpfs this mount attaches.
Result<std::vector<Hierarchy>> v1_hierarchies(const std::string& rootfs) {
    auto table = TRY(read_mountinfo());
    std::vector<Hierarchy> out;
    for (auto& m : table) {
        if (m.fstype != "cgroup") continue;
        if (!rootfs.empty() && m.mount_point.starts_with(rootfs)) continue;
        Hierarchy h;
        h.root = m.root;
        h.mountpoint = m.mount_point;
        for (auto& o : m.super_options)
            if (o != "rw" && o != "ro") h.options.push_back(o);
        // Two mounts of one hierarchy (bind copies): keep the first.
        bool dup = false;
        for (auto& e : out)
            dup = dup || e.options == h.options;
        if (!dup) out.push_back(std::move(h));
    }
    return out;
}

bool is_controller(const std::string& opt) {
    return opt.find('=') == std::string::npos || opt.starts_with("name=");
}

// This process's path in the hierarchy: a controller (or name=) belongs to one hierarchy only,
// so the first of its controllers that /proc/self/cgroup (`own`) lists gives the path.
Result<std::string> own_path(const Hierarchy& h, const std::map<std::string, std::string>& own) {
    for (auto& o : h.options) {
        if (!is_controller(o) || o == "xattr" || o == "noprefix" || o == "clone_children") continue;
        if (auto it = own.find(o); it != own.end()) return it->second;
    }
    return error("no entry for '" + h.mountpoint + "' in /proc/self/cgroup");
}

std::string base_name(const std::string& p) {
    auto s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

AttrChange cgroup_attrs(const PlannedMount& pm) {
    AttrChange c;
    c.set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (pm.opts.flags & MS_RDONLY) c.set |= MOUNT_ATTR_RDONLY;
    return c;
}

Status mount_v1(const PlannedMount& pm, int target_fd, const MountEnv& env) {
    std::string rootfs;
    if (env.root_fd >= 0) {
        char buf[PATH_MAX];
        std::string link = "/proc/self/fd/" + std::to_string(env.root_fd);
        ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
        if (n > 1) rootfs = std::string(buf, size_t(n)) + "/";
    }
    auto hierarchies = TRY(v1_hierarchies(rootfs));
    std::optional<std::map<std::string, std::string>> own;  // read once, for binds only
    MountOptions tmpfs_opts;
    tmpfs_opts.flags = pm.opts.flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT);
    tmpfs_opts.cleared = pm.opts.cleared;
    tmpfs_opts.data = {"mode=755"};
    auto tmpfs = TRY(new_fs_mount("tmpfs", "tmpfs", tmpfs_opts, "cgroup tmpfs"));
    TRY(attach_tree(tmpfs.get(), target_fd, "cgroup tmpfs"));
    // Sub-mounts go onto directories of the now attached tmpfs, reached through its fd.
    for (const auto& h : hierarchies) {
        std::string name = base_name(h.mountpoint);
        if (name.empty() || name == "." || name == "..") continue;
        if (mkdirat(tmpfs.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
            return sys_error("mkdir cgroup '" + name + "'");
        UniqueFd dir(
            openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) return sys_error("open cgroup '" + name + "'");
        UniqueFd mnt;
        if (env.new_cgroup_namespace) {
            MountOptions o;
            for (auto& opt : h.options)
                o.data.push_back(opt);
            std::string source = "cgroup";
            mnt = TRY(new_fs_mount("cgroup", source, o, "cgroup '" + name + "'"));
            TRY(set_mount_attrs(mnt.get(), cgroup_attrs(pm), false, "cgroup '" + name + "'"));
        } else {
            if (!own) own = TRY(read_proc_cgroup());
            std::string path = TRY(own_path(h, *own));
            if (h.root != "/" && path.starts_with(h.root)) path = path.substr(h.root.size());
            std::string src = h.mountpoint + path;
            mnt = TRY_CTX(clone_tree(AT_FDCWD, src, false), "bind cgroup '" + src + "'");
            TRY(set_mount_attrs(mnt.get(), cgroup_attrs(pm), false, "cgroup '" + name + "'"));
        }
        TRY(attach_tree(mnt.get(), dir.get(), "cgroup '" + name + "'"));
        // Co-mounted controllers ("cpu,cpuacct") get one symlink per controller, as on hosts.
        if (name.find(',') != std::string::npos) {
            for (auto& c : split(name, ','))
                if (symlinkat(name.c_str(), tmpfs.get(), c.c_str()) < 0 && errno != EEXIST)
                    return sys_error("symlink cgroup '" + c + "'");
        }
    }
    // The tmpfs itself stays writable, as under runc (the hierarchies in it carry "ro"): the
    // container sees the same mount table under either runtime.
    for (unsigned long p : pm.opts.propagation)
        TRY(set_propagation(tmpfs.get(), p, "cgroup tmpfs"));
    return ok();
}

Status mount_v2(const PlannedMount& pm, int target_fd, const MountEnv& env) {
    MountOptions o;
    o.flags = pm.opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    auto mnt = new_fs_mount("cgroup2", "cgroup2", o, "cgroup2");
    if (!mnt && (mnt.error().code() == EPERM || mnt.error().code() == EBUSY) &&
        !env.new_cgroup_namespace) {
        // Without a cgroup namespace of its own (rootless), bind the container's cgroup.
        auto own = TRY(read_proc_cgroup());
        auto v2 = own.find("");
        if (v2 == own.end()) return std::move(mnt).error();
        mnt = clone_tree(AT_FDCWD, "/sys/fs/cgroup" + v2->second, false);
        if (mnt) TRY(set_mount_attrs(mnt->get(), cgroup_attrs(pm), false, "cgroup2"));
    }
    if (!mnt) return std::move(mnt).error();
    TRY(attach_tree(mnt->get(), target_fd, "cgroup2"));
    for (unsigned long p : pm.opts.propagation)
        TRY(set_propagation(mnt->get(), p, "cgroup2"));
    return ok();
}

}  // namespace

Status mount_cgroup(const PlannedMount& pm, int target_fd, const MountEnv& env) {
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
        return mount_v2(pm, target_fd, env);
    return mount_v1(pm, target_fd, env);
}

}  // namespace berth::runtime::linux_
