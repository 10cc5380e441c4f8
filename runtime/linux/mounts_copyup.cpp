// tmpcopyup: a recursive copy done entirely with *at() calls and O_NOFOLLOW, from the image
// directory that the tmpfs is about to cover into the detached tmpfs mount.
#include "runtime/linux/mounts_copyup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.hpp"

namespace berth::runtime::linux_ {
namespace {

constexpr int kMaxDepth = 64;

// Extended attributes of one open file (security.capability, user.*, trusted.* as root).
// A tmpfs refusing a name (EOPNOTSUPP: an xattr namespace it does not keep) is skipped, as
// `cp -a` does; anything else is an error naming the attribute.
Status copy_xattrs(int in, int out, const char* name) {
    ssize_t len = flistxattr(in, nullptr, 0);
    if (len < 0)
        return errno == ENOTSUP ? ok() : sys_error(std::string("list xattrs of '") + name + "'");
    if (len == 0) return ok();
    std::string names(size_t(len), '\0');
    len = flistxattr(in, names.data(), names.size());
    if (len < 0) return sys_error(std::string("list xattrs of '") + name + "'");
    names.resize(size_t(len));
    std::string value;
    for (size_t at = 0; at < names.size(); at = names.find('\0', at) + 1) {
        const char* key = names.c_str() + at;
        ssize_t vlen = fgetxattr(in, key, nullptr, 0);
        if (vlen < 0) return sys_error(std::string("read xattr ") + key + " of '" + name + "'");
        value.resize(size_t(vlen));
        vlen = fgetxattr(in, key, value.data(), value.size());
        if (vlen < 0) return sys_error(std::string("read xattr ") + key + " of '" + name + "'");
        if (fsetxattr(out, key, value.data(), size_t(vlen), 0) < 0 && errno != ENOTSUP)
            return sys_error(std::string("set xattr ") + key + " on '" + name + "'");
        if (names.find('\0', at) == std::string::npos) break;
    }
    return ok();
}

// Owner, then mode (a chown clears setuid/setgid, even for root), xattrs, then times: the
// order `cp -a` and layer extraction use. `out` is an fd open on the copy; `fd_in` one on the
// original (-1 for symlinks, which keep only owner and times).
Status copy_meta(int fd_in, int out, int dst_dir, const char* name, const struct stat& st) {
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (fd_in < 0) {
        if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error(std::string("chown '") + name + "'");
        if (utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error(std::string("set times of '") + name + "'");
        return ok();
    }
    if (fchown(out, st.st_uid, st.st_gid) < 0)
        return sys_error(std::string("chown '") + name + "'");
    if (fchmod(out, st.st_mode & 07777) < 0) return sys_error(std::string("chmod '") + name + "'");
    TRY(copy_xattrs(fd_in, out, name));
    if (futimens(out, times) < 0) return sys_error(std::string("set times of '") + name + "'");
    return ok();
}

Status copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) {
    UniqueFd in(openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return sys_error(std::string("open '") + name + "'");
    UniqueFd out(openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return sys_error(std::string("create '") + name + "'");
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(out.get(), in.get(), nullptr, size_t(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error(std::string("copy '") + name + "'");
        if (n == 0) break;
        left -= n;
    }
    return copy_meta(in.get(), out.get(), dst_dir, name, st);
}

Status copy_dir(int src, int dst, int depth);

Status copy_entry(int src, int dst, const char* name, int depth) {
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error(std::string("stat '") + name + "'");
    if (S_ISREG(st.st_mode)) return copy_file(src, dst, name, st);
    if (S_ISLNK(st.st_mode)) {
        std::string target(size_t(st.st_size) + 1, '\0');
        ssize_t n = readlinkat(src, name, target.data(), target.size());
        if (n < 0) return sys_error(std::string("readlink '") + name + "'");
        if (symlinkat(target.substr(0, size_t(n)).c_str(), dst, name) < 0)
            return sys_error(std::string("symlink '") + name + "'");
        return copy_meta(-1, -1, dst, name, st);
    }
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(dst, name, 0700) < 0) return sys_error(std::string("mkdir '") + name + "'");
    } else if (mknodat(dst, name, st.st_mode & S_IFMT, st.st_rdev) < 0) {
        return sys_error(std::string("mknod '") + name + "'");
    }
    // Directories, devices, fifos and sockets: metadata through O_PATH-free fds where they
    // can be opened without side effects (a directory, or O_PATH for the others).
    int flags = S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_PATH;
    UniqueFd in(openat(src, name, flags | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd out(openat(dst, name, flags | O_NOFOLLOW | O_CLOEXEC));
    if (!in || !out) return sys_error(std::string("open '") + name + "'");
    if (S_ISDIR(st.st_mode)) {
        TRY(copy_dir(in.get(), out.get(), depth + 1));
        return copy_meta(in.get(), out.get(), dst, name, st);  // times last, after children
    }
    // O_PATH fds refuse f*xattr and fchmod: use the names for device nodes.
    if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error(std::string("chown '") + name + "'");
    if (fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
        return sys_error(std::string("chmod '") + name + "'");
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error(std::string("set times of '") + name + "'");
    return ok();
}

Status copy_dir(int src, int dst, int depth) {
    if (depth > kMaxDepth) return Error::sys(ELOOP, "tree too deep");
    int dfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return sys_error("open directory");
    DIR* d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return sys_error("opendir");
    }
    Status result;
    while (struct dirent* e = readdir(d)) {
        const char* name = e->d_name;
        if (std::string_view(name) == "." || std::string_view(name) == "..") continue;
        result = copy_entry(src, dst, name, depth);
        if (!result) break;
    }
    closedir(d);
    return result;
}

}  // namespace

Status copy_tree(int src_dir, int dst_dir) {
    UniqueFd src(openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd dst(openat(dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!src || !dst) return sys_error("open directory");
    TRY(copy_dir(src.get(), dst.get(), 0));
    struct stat st;
    if (fstat(src.get(), &st) < 0) return sys_error("stat");
    // The tmpfs root itself, reached through its mount fd.
    return copy_meta(src.get(), dst.get(), dst_dir, ".", st);
}

}  // namespace berth::runtime::linux_
