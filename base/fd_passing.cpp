// SCM_RIGHTS fd passing, with MSG_CTRUNC checked (the one implementation berth uses).
#include "base/fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace berth {

Status send_fd(int sock, int fd, std::string_view data) {
    if (data.empty()) return error("send fd: empty message (the fd needs a byte to travel with)");
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    do {
        n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("send fd");
    for (size_t done = size_t(n); done < data.size();) {
        ssize_t m = ::send(sock, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return sys_error("send fd: message");
        done += size_t(m);
    }
    return ok();
}

Result<ReceivedFd> recv_fd(int sock, size_t max_data) {
    std::vector<char> buf(max_data ? max_data : 1);
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("receive fd");
    // Take ownership of every fd that did arrive before judging the message.
    std::vector<UniqueFd> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.emplace_back(fd);
        }
    }
    if (mh.msg_flags & MSG_CTRUNC) return error("receive fd: control data truncated");
    if (n == 0 && fds.empty()) return error("receive fd: peer closed the socket");
    if (fds.size() != 1)
        return error("receive fd: message carries " + std::to_string(fds.size()) + " fds, want 1");
    ReceivedFd r;
    r.fd = std::move(fds[0]);
    r.data.assign(buf.data(), size_t(n));
    return r;
}

}  // namespace berth
