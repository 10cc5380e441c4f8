// tmpcopyup: a recursive copy done entirely with *at() calls and O_NOFOLLOW, from the image
// directory that the tmpfs is about to cover into the detached tmpfs mount.
#include "runtime/linux/mounts_copyup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.hpp"

namespace berth::runtime::linux_ {
namespace {

constexpr int kMaxDepth = 64;

Status copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) {
    UniqueFd in(openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return sys_error(std::string("open '") + name + "'");
    UniqueFd out(openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777));
    if (!out) return sys_error(std::string("create '") + name + "'");
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(out.get(), in.get(), nullptr, size_t(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error(std::string("copy '") + name + "'");
        if (n == 0) break;
        left -= n;
    }
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
        struct stat st;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            result = sys_error(std::string("stat '") + name + "'");
            break;
        }
        Status s;
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst, name, 0700) < 0) {
                s = sys_error(std::string("mkdir '") + name + "'");
            } else {
                UniqueFd sub_src(openat(src, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                UniqueFd sub_dst(openat(dst, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub_src || !sub_dst)
                    s = sys_error(std::string("open '") + name + "'");
                else
                    s = copy_dir(sub_src.get(), sub_dst.get(), depth + 1);
                if (s && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
                    s = sys_error(std::string("chmod '") + name + "'");
            }
        } else if (S_ISREG(st.st_mode)) {
            s = copy_file(src, dst, name, st);
        } else if (S_ISLNK(st.st_mode)) {
            std::string target(size_t(st.st_size) + 1, '\0');
            ssize_t n = readlinkat(src, name, target.data(), target.size());
            if (n < 0)
                s = sys_error(std::string("readlink '") + name + "'");
            else if (symlinkat(target.substr(0, size_t(n)).c_str(), dst, name) < 0)
                s = sys_error(std::string("symlink '") + name + "'");
        } else {
            if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0)
                s = sys_error(std::string("mknod '") + name + "'");
        }
        if (s && fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            s = sys_error(std::string("chown '") + name + "'");
        if (!s) {
            result = std::move(s);
            break;
        }
    }
    closedir(d);
    return result;
}

}  // namespace

Status copy_tree(int src_dir, int dst_dir) {
    TRY(copy_dir(src_dir, dst_dir, 0));
    struct stat st;
    if (fstat(src_dir, &st) < 0) return sys_error("stat");
    // The tmpfs root is reached through its mount fd, not a name: fchmodat/fchownat with an
    // empty path and AT_EMPTY_PATH act on the fd itself.
    if (fchownat(dst_dir, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0) return sys_error("chown");
    UniqueFd d(openat(dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d || fchmod(d.get(), st.st_mode & 07777) < 0) return sys_error("chmod");
    return ok();
}

}  // namespace berth::runtime::linux_
