// Seccomp notify plumbing: passing the listener fd child -> parent -> agent (SCM_RIGHTS).
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "runtime/linux/seccomp.hpp"

namespace berth::seccomp {
namespace {

Status send_with_fd(int sock, const void* data, size_t len, int fd) {
    struct iovec iov {};
    iov.iov_base = const_cast<void*>(data);
    iov.iov_len = len;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    std::memset(control, 0, sizeof(control));
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("send seccomp listener fd");
        // A stream socket may take less than the whole message; the fd went with the first
        // byte, the rest follows as plain data.
        const char* rest = static_cast<const char*>(data) + n;
        size_t left = len - size_t(n);
        while (left > 0) {
            ssize_t m = send(sock, rest, left, MSG_NOSIGNAL);
            if (m < 0 && errno == EINTR) continue;
            if (m < 0) return sys_error("send seccomp listener state");
            rest += m;
            left -= size_t(m);
        }
        return ok();
    }
}

}  // namespace

Status send_fd(int sock, int fd) {
    const char byte = 'S';
    return send_with_fd(sock, &byte, 1, fd);
}

Result<UniqueFd> receive_fd(int sock) {
    char byte = 0;
    struct iovec iov {};
    iov.iov_base = &byte;
    iov.iov_len = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("receive seccomp listener fd");
    if (n == 0) return error("receive seccomp listener fd: peer closed the socket");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)))
        return error("receive seccomp listener fd: message carries no fd");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    UniqueFd out(fd);
    if (msg.msg_flags & MSG_CTRUNC) return error("receive seccomp listener fd: truncated");
    return out;
}

std::string process_state_json(const std::string& metadata, const nlohmann::json& state,
                               pid_t pid) {
    nlohmann::json j = nlohmann::json::object();
    j["ociVersion"] = spec::kRuntimeSpecVersion;
    j["fds"] = nlohmann::json::array({"seccompFd"});
    j["pid"] = pid;
    // runc omits an empty metadata string.
    if (!metadata.empty()) j["metadata"] = metadata;
    j["state"] = state;
    // Metadata comes from config.json; replace bad UTF-8 rather than throw.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status send_to_agent(const std::string& path, int listener_fd, const std::string& metadata,
                     const nlohmann::json& state, pid_t pid) {
    const std::string what = "send seccomp listener to '" + path + "'";
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return error(what + ": socket path empty or too long");
    std::memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return sys_error(what + ": socket");
    int rc;
    do {
        rc = connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return sys_error(what + ": connect");
    std::string msg = process_state_json(metadata, state, pid);
    return send_with_fd(sock.get(), msg.data(), msg.size(), listener_fd).context(what);
}

}  // namespace berth::seccomp
