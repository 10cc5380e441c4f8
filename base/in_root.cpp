// In-root resolution: openat2(RESOLVE_IN_ROOT) where the kernel has it, otherwise a walk that
// holds an fd for every directory on the way and opens each component with O_NOFOLLOW, so a
// symlink swapped in during the walk can never send it outside the root.
#include "base/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <vector>

namespace berth {
namespace {

constexpr int kMaxSymlinks = 40;

long sys_openat2(int dirfd, const char* path, struct open_how* how) {
    return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

Result<std::string> read_link_at(int fd) {
    std::string buf(256, '\0');
    for (;;) {
        ssize_t n = readlinkat(fd, "", buf.data(), buf.size());
        if (n < 0) return sys_error("readlink");
        if (size_t(n) < buf.size()) {
            buf.resize(size_t(n));
            return buf;
        }
        if (buf.size() > 65536) return Error::sys(ENAMETOOLONG, "readlink");
        buf.resize(buf.size() * 2);
    }
}

// Opens the inode behind the O_PATH fd `fd` (checked: not a symlink) with `flags`, through
// /proc/self/fd, so what is opened is what was checked even if the name was swapped meanwhile
// (reopening by name would open whatever is there by then: a device, a fifo). Without /proc
// (early in a container's setup) the name is opened without following and must be the same
// inode.
Result<UniqueFd> reopen(int fd, const struct stat& checked, int dir, const std::string& name,
                        int flags) {
    int f = flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW);
    std::string p = "/proc/self/fd/" + std::to_string(fd);
    UniqueFd out(open(p.c_str(), f | O_CLOEXEC));
    if (out) return out;
    if (errno != ENOENT) return sys_error("reopen '" + name + "'");
    out.reset(openat(dir, name.c_str(), f | O_NOFOLLOW | O_CLOEXEC));
    if (!out) return sys_error("open '" + name + "'");
    struct stat st;
    if (fstat(out.get(), &st) < 0) return sys_error("stat '" + name + "'");
    if (st.st_dev != checked.st_dev || st.st_ino != checked.st_ino)
        return Error::sys(EAGAIN, "'" + name + "' changed while it was opened");
    return out;
}

// The portable walk. Returns the final fd opened with `flags`.
Result<UniqueFd> walk(int root_fd, std::string_view path, int flags, mode_t mode, unsigned irf) {
    // Stack of directories from the root down to the current one; ".." pops it, so ".." can
    // never climb above the root however the tree changes meanwhile.
    std::vector<UniqueFd> stack;
    int rootdup = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    if (rootdup < 0) return sys_error("dup root");
    stack.emplace_back(rootdup);

    std::deque<std::string> todo;
    for (auto& c : path_components(path))
        todo.push_back(std::move(c));
    int links = 0;
    const bool want_dir_final = (flags & O_DIRECTORY) != 0;

    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        bool last = todo.empty();
        if (name == ".") {
            if (last) break;
            continue;
        }
        if (name == "..") {
            if (stack.size() > 1) {
                stack.pop_back();
            } else if (irf & kInRootBeneath) {
                return Error::sys(EXDEV, "'..' leads out of the root");
            }
            if (last) break;
            continue;
        }
        int cur = stack.back().get();
        UniqueFd fd(openat(cur, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            if (errno != ENOENT) return sys_error("open '" + name + "'");
            if (!last && (irf & kInRootMkdirParents)) {
                if (mkdirat(cur, name.c_str(), 0755) < 0 && errno != EEXIST)
                    return sys_error("mkdir '" + name + "'");
                fd.reset(openat(cur, name.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
                if (!fd) return sys_error("open '" + name + "'");
                stack.push_back(std::move(fd));
                continue;
            }
            if (last && (flags & O_CREAT)) {
                UniqueFd f(openat(cur, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode));
                if (!f) return sys_error("create '" + name + "'");
                return f;
            }
            if (last && (irf & kInRootMkdirParents) && want_dir_final) {
                if (mkdirat(cur, name.c_str(), mode ? mode : 0755) < 0 && errno != EEXIST)
                    return sys_error("mkdir '" + name + "'");
                UniqueFd f(openat(cur, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
                if (!f) return sys_error("open '" + name + "'");
                return f;
            }
            return sys_error("open '" + name + "'");
        }
        // O_CREAT|O_EXCL on an existing name, a symlink included, is EEXIST as open(2) and
        // openat2 say: never an open of what is there, never a follow of the link.
        if (last && (flags & O_CREAT) && (flags & O_EXCL))
            return Error::sys(EEXIST, "create '" + name + "'");
        struct stat st;
        if (fstat(fd.get(), &st) < 0) return sys_error("stat '" + name + "'");
        if (S_ISLNK(st.st_mode)) {
            if (last && (irf & kInRootNoFollowLast)) {
                if (flags & O_PATH) return fd;
                return Error::sys(ELOOP, "open '" + name + "'");
            }
            if (++links > kMaxSymlinks)
                return Error::sys(ELOOP, "resolve '" + std::string(path) + "'");
            auto target = TRY(read_link_at(fd.get()));
            if (!target.empty() && target[0] == '/') {
                if (irf & kInRootBeneath)
                    return Error::sys(EXDEV, "'" + name + "' is an absolute symlink");
                stack.resize(1);
            }
            auto comps = path_components(target);
            for (auto it = comps.rbegin(); it != comps.rend(); ++it)
                todo.push_front(*it);
            if (comps.empty() && last) break;  // link to "/" (or "."): the current dir
            continue;
        }
        if (last) {
            if (flags & O_PATH) {
                if (want_dir_final && !S_ISDIR(st.st_mode))
                    return Error::sys(ENOTDIR, "open '" + name + "'");
                return fd;
            }
            if (want_dir_final && !S_ISDIR(st.st_mode))
                return Error::sys(ENOTDIR, "open '" + name + "'");
            return reopen(fd.get(), st, cur, name, flags);
        }
        if (!S_ISDIR(st.st_mode)) return Error::sys(ENOTDIR, "open '" + name + "'");
        stack.push_back(std::move(fd));
    }
    // The path ended on a directory already on the stack ("", ".", "..", or a link to one).
    int cur = stack.back().get();
    if (flags & O_PATH) {
        int d = fcntl(cur, F_DUPFD_CLOEXEC, 3);
        if (d < 0) return sys_error("dup");
        return UniqueFd(d);
    }
    UniqueFd f(openat(cur, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC));
    if (!f) return sys_error("open '.'");
    return f;
}

}  // namespace

std::vector<std::string> path_components(std::string_view path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/')
            ++i;
        size_t j = i;
        while (j < path.size() && path[j] != '/')
            ++j;
        if (j > i) out.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool openat2_unavailable(int err) {
    return err == ENOSYS || err == EPERM || err == EINVAL;
}

bool have_openat2() {
    static int cached = -1;
    if (cached < 0) {
        struct open_how how = {};
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_IN_ROOT;
        long fd = sys_openat2(AT_FDCWD, "/", &how);
        cached = fd >= 0 ? 1 : (openat2_unavailable(errno) ? 0 : 1);
        if (fd >= 0) close(int(fd));
    }
    return cached == 1;
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode,
                              unsigned irf) {
    if (!(irf & (kInRootForceWalk | kInRootMkdirParents)) && have_openat2()) {
        struct open_how how = {};
        how.flags = uint64_t(flags | O_CLOEXEC | ((irf & kInRootNoFollowLast) ? O_NOFOLLOW : 0));
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve =
            ((irf & kInRootBeneath) ? RESOLVE_BENEATH : RESOLVE_IN_ROOT) | RESOLVE_NO_MAGICLINKS;
        std::string p(path.empty() ? "." : path);
        for (;;) {
            long fd = sys_openat2(root_fd, p.c_str(), &how);
            if (fd >= 0) return UniqueFd(int(fd));
            // EAGAIN: a rename raced the lookup; the kernel asks us to retry.
            if (errno == EAGAIN) continue;
            if (openat2_unavailable(errno)) break;
            return sys_error("open '" + p + "' in root");
        }
    }
    auto r = walk(root_fd, path, flags, mode, irf);
    if (!r) return std::move(r).error().with_context("in root");
    return r;
}

Result<UniqueFd> mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode, unsigned irf) {
    auto r = walk(root_fd, path, O_PATH | O_DIRECTORY, mode, irf | kInRootMkdirParents);
    if (!r) return std::move(r).error().with_context("mkdir '" + std::string(path) + "' in root");
    return r;
}

Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view path, unsigned irf) {
    auto comps = path_components(path);
    if (comps.empty() || comps.back() == "." || comps.back() == "..")
        return Error::sys(EINVAL, "'" + std::string(path) + "' has no parent in root");
    std::string name = comps.back();
    std::string parent;
    for (size_t i = 0; i + 1 < comps.size(); ++i) {
        parent += '/';
        parent += comps[i];
    }
    Result<UniqueFd> dir = (irf & kInRootMkdirParents)
                               ? mkdir_all_in_root(root_fd, parent, 0755, irf)
                               : open_in_root(root_fd, parent, O_PATH | O_DIRECTORY, 0,
                                              irf & (kInRootForceWalk | kInRootBeneath));
    if (!dir) return std::move(dir).error();
    return ParentAndName{std::move(dir).value(), std::move(name)};
}

}  // namespace berth
