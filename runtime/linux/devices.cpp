// Device nodes. Every name is created with *at() calls under a directory fd that was resolved
// inside the rootfs, so an image whose /dev is a symlink to "/" (or to a host path) gets its
// nodes inside its own root, never on the host. In a user namespace mknod is not allowed: the
// host's node is bind-mounted onto an empty file instead, as runc does.
#include "runtime/linux/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/in_root.hpp"
#include "base/unique_fd.hpp"
#include "runtime/linux/mounts.hpp"

namespace berth::runtime::linux_ {
namespace {

const DeviceNode kDefaultDevices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

mode_t type_bits(char t) {
    switch (t) {
        case 'b':
            return S_IFBLK;
        case 'p':
            return S_IFIFO;
        default:
            return S_IFCHR;
    }
}

// The parent directory of a device path inside the root (created), and the name.
Result<ParentAndName> device_parent(int root_fd, const std::string& path) {
    return open_parent_in_root(root_fd, path, kInRootMkdirParents);
}

Status make_node(const DeviceNode& d, const DeviceEnv& env) {
    auto pn = TRY_CTX(device_parent(env.root_fd, d.path), "device '" + d.path + "'");
    int dir = pn.dir.get();
    const char* name = pn.name.c_str();
    // A listed device replaces whatever the image or a default put there; unlinkat never
    // follows a symlink, and a directory there stays (EISDIR reported below).
    if (unlinkat(dir, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
        return sys_error("device '" + d.path + "': remove old entry");
    if (env.in_user_namespace) {
        UniqueFd file(openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0));
        if (!file) return sys_error("device '" + d.path + "': create mount point");
        auto tree =
            TRY_CTX(clone_tree(AT_FDCWD, d.path, false), "device '" + d.path + "': bind from host");
        struct stat st;
        if (fstat(tree.get(), &st) < 0) return sys_error("device '" + d.path + "'");
        if ((st.st_mode & S_IFMT) != type_bits(d.type) || major(st.st_rdev) != d.major ||
            minor(st.st_rdev) != d.minor)
            return error("device '" + d.path + "': host node is not " + std::string(1, d.type) +
                         " " + std::to_string(d.major) + ":" + std::to_string(d.minor));
        return attach_tree(tree.get(), file.get(), "device '" + d.path + "'");
    }
    mode_t old = umask(0);
    int r = mknodat(dir, name, type_bits(d.type) | (d.mode & 07777), makedev(d.major, d.minor));
    int err = errno;
    umask(old);
    if (r < 0) return Error::sys(err, "device '" + d.path + "': mknod");
    if (fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error("device '" + d.path + "': chown");
    return ok();
}

Status make_symlink(int dev_fd, const char* target, const char* name) {
    if (symlinkat(target, dev_fd, name) < 0 && errno != EEXIST)
        return sys_error(std::string("symlink /dev/") + name);
    return ok();
}

Status setup_console(int dev_fd, int slave_fd) {
    // The pty slave is bound onto an empty file: the container sees the same tty as the
    // process's stdio, with the devpts instance's ownership.
    if (unlinkat(dev_fd, "console", 0) < 0 && errno != ENOENT)
        return sys_error("/dev/console: remove old entry");
    UniqueFd file(
        openat(dev_fd, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!file) return sys_error("/dev/console: create mount point");
    auto tree = clone_tree(slave_fd, "", false);
    if (!tree && tree.error().code() == EINVAL) {
        // The pty was opened before this mount namespace was made: its mount belongs to the
        // parent's namespace and cannot be cloned by fd. Look its path up here instead and
        // check it is the same inode.
        char buf[256];
        std::string link = "/proc/self/fd/" + std::to_string(slave_fd);
        ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
        if (n > 0) {
            tree = clone_tree(AT_FDCWD, std::string(buf, size_t(n)), false);
            struct stat a, b;
            if (tree && (fstat(tree->get(), &a) < 0 || fstat(slave_fd, &b) < 0 ||
                         a.st_dev != b.st_dev || a.st_ino != b.st_ino))
                return error("/dev/console: pty path does not lead to the pty");
        }
    }
    if (!tree) return std::move(tree).error().with_context("/dev/console: bind pty");
    return attach_tree(tree->get(), file.get(), "/dev/console");
}

}  // namespace

Result<std::vector<DeviceNode>> plan_devices(const spec::Spec& spec) {
    std::vector<DeviceNode> out(std::begin(kDefaultDevices), std::end(kDefaultDevices));
    if (!spec.linux_) return out;
    for (size_t i = 0; i < spec.linux_->devices.size(); ++i) {
        const auto& d = spec.linux_->devices[i];
        std::string field = "linux.devices[" + std::to_string(i) + "]";
        if (d.path.empty() || d.path[0] != '/')
            return error(field + ".path: '" + d.path + "' is not absolute");
        auto comps = path_components(d.path);
        for (auto& c : comps)
            if (c == "..") return error(field + ".path: '" + d.path + "' contains '..'");
        if (comps.size() < 2 || comps[0] != "dev")
            return error(field + ".path: '" + d.path + "' is not under /dev");
        DeviceNode n;
        n.path = d.path;
        if (d.type == "c" || d.type == "u")
            n.type = 'c';
        else if (d.type == "b")
            n.type = 'b';
        else if (d.type == "p")
            n.type = 'p';
        else
            return error(field + ".type: unknown device type '" + d.type + "'");
        if (n.type != 'p' && (d.major < 0 || d.minor < 0 || d.major > 4095 || d.minor > 1048575))
            return error(field + ": bad major/minor");
        n.major = unsigned(d.major);
        n.minor = unsigned(d.minor);
        n.mode = d.file_mode ? (*d.file_mode & 07777) : 0666;
        n.uid = d.uid.value_or(0);
        n.gid = d.gid.value_or(0);
        bool replaced = false;
        for (auto& e : out) {
            if (e.path == n.path) {
                e = n;
                replaced = true;
            }
        }
        if (!replaced) out.push_back(n);
    }
    return out;
}

Status setup_devices(const std::vector<DeviceNode>& devices, const DeviceEnv& env) {
    auto dev = TRY_CTX(mkdir_all_in_root(env.root_fd, "/dev"), "/dev");
    struct stat st, rootst;
    if (fstat(dev.get(), &st) < 0 || fstat(env.root_fd, &rootst) < 0) return sys_error("/dev");
    // /dev -> / in the image: resolved in root it is the container root itself. Nodes there
    // would stay inside, but it is never what the bundle meant.
    if (st.st_dev == rootst.st_dev && st.st_ino == rootst.st_ino)
        return error("/dev resolves to the container root");
    for (const auto& d : devices)
        TRY(make_node(d, env));
    TRY(make_symlink(dev.get(), "/proc/self/fd", "fd"));
    TRY(make_symlink(dev.get(), "/proc/self/fd/0", "stdin"));
    TRY(make_symlink(dev.get(), "/proc/self/fd/1", "stdout"));
    TRY(make_symlink(dev.get(), "/proc/self/fd/2", "stderr"));
    if (access("/proc/kcore", F_OK) == 0) TRY(make_symlink(dev.get(), "/proc/kcore", "core"));
    // ptmx must be the devpts instance's own (newinstance), not the host's.
    if (unlinkat(dev.get(), "ptmx", 0) < 0 && errno != ENOENT) return sys_error("/dev/ptmx");
    TRY(make_symlink(dev.get(), "pts/ptmx", "ptmx"));
    if (env.console_slave_fd >= 0) TRY(setup_console(dev.get(), env.console_slave_fd));
    return ok();
}

}  // namespace berth::runtime::linux_
