// A forked child makes the user namespace: unshare(CLONE_NEWUSER) refuses a multi-threaded
// caller, and the mapping of one's own ids must be written from inside (what `unshare -r`
// does). It reports one status message, then the overlay's fd (SCM_RIGHTS), and exits; the
// detached mount outlives its namespace for as long as the fd is open.
#include "imagetool/bundle/userns_overlay.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd_passing.hpp"

namespace berth::image::bundle {
namespace {

enum Stage : int { kOk = 0, kUnshare, kSetgroups, kUidMap, kGidMap, kChdir, kMount, kOpen };

bool write_proc(const char* path, const std::string& text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
    int err = errno;
    close(fd);
    errno = err;
    return ok;
}

[[noreturn]] void child(int sock, const std::string& cwd, const std::string& target,
                        const std::string& data, const std::string& uid_map,
                        const std::string& gid_map) {
    auto fail = [sock](Stage s) {
        int msg[2] = {s, errno};
        (void)send(sock, msg, sizeof msg, MSG_NOSIGNAL);
        _exit(1);
    };
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) fail(kUnshare);
    // The kernel takes an unprivileged gid_map only once setgroups is denied.
    if (!write_proc("/proc/self/setgroups", "deny")) fail(kSetgroups);
    if (!write_proc("/proc/self/uid_map", uid_map)) fail(kUidMap);
    if (!write_proc("/proc/self/gid_map", gid_map)) fail(kGidMap);
    if (chdir(cwd.c_str()) < 0) fail(kChdir);
    if (mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0) fail(kMount);
    int fd = open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(kOpen);
    int msg[2] = {kOk, 0};
    if (send(sock, msg, sizeof msg, MSG_NOSIGNAL) != sizeof msg) _exit(1);
    _exit(send_fd(sock, fd, "f") ? 0 : 1);
}

Error stage_error(int stage, int err) {
    switch (stage) {
        case kUnshare:
            return Error::sys(err,
                              "create a user namespace (are unprivileged user namespaces "
                              "disabled here?)");
        case kSetgroups:
        case kUidMap:
        case kGidMap:
            return Error::sys(err, "map the caller's ids in a user namespace");
        case kChdir:
            return Error::sys(err, "chdir in the user namespace");
        case kMount:
            return Error::sys(err,
                              "mount overlayfs in a user namespace (needs Linux 5.11+ and "
                              "an upper filesystem with user xattrs)");
        default:
            return Error::sys(err, "open the overlay in the user namespace");
    }
}

}  // namespace

Result<UniqueFd> userns_overlay(const std::string& cwd, const std::string& target,
                                const std::string& data) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    // Made before the fork: the child only makes system calls.
    std::string uid_map = "0 " + std::to_string(geteuid()) + " 1\n";
    std::string gid_map = "0 " + std::to_string(getegid()) + " 1\n";
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) child(theirs.get(), cwd, target, data, uid_map, gid_map);
    theirs.reset();
    auto reap = [pid]() {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    };
    int msg[2] = {-1, 0};
    ssize_t n;
    do {
        n = recv(ours.get(), msg, sizeof msg, 0);
    } while (n < 0 && errno == EINTR);
    if (n != sizeof msg) {
        int err = n < 0 ? errno : EPIPE;
        reap();
        return Error::sys(err, "overlay in a user namespace: the helper process died");
    }
    if (msg[0] != kOk) {
        reap();
        return stage_error(msg[0], msg[1]);
    }
    auto got = recv_fd(ours.get(), 16);
    reap();
    if (!got) return std::move(got).error().with_context("overlay in a user namespace");
    return std::move(got->fd);
}

}  // namespace berth::image::bundle
