// The parent/child sync messages (protocol table in sync.hpp) and fd passing.
#include "runtime/sync.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <vector>

namespace berth::runtime {

const char* sync_name(SyncType t) {
    switch (t) {
        case SyncType::kProceed:
            return "proceed";
        case SyncType::kNamespacesReady:
            return "namespaces-ready";
        case SyncType::kMapsWritten:
            return "maps-written";
        case SyncType::kInitPid:
            return "init-pid";
        case SyncType::kRuntimeHooks:
            return "runtime-hooks";
        case SyncType::kHooksDone:
            return "hooks-done";
        case SyncType::kSeccompListener:
            return "seccomp-listener";
        case SyncType::kReady:
            return "ready";
        case SyncType::kError:
            return "error";
    }
    return "unknown";
}

namespace {
struct Header {
    uint32_t type;
    uint32_t pad;
    int64_t value;
};
}  // namespace

Result<std::pair<UniqueFd, UniqueFd>> sync_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    return std::make_pair(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Status sync_send(int fd, SyncType type, int64_t value, std::string_view payload) {
    Header h{static_cast<uint32_t>(type), 0, value};
    if (payload.size() > kSyncMax - sizeof h) payload = payload.substr(0, kSyncMax - sizeof h);
    iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = payload.empty() ? 1 : 2;
    ssize_t n;
    do {
        n = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error(std::string("sync: send ") + sync_name(type));
    return ok();
}

Result<SyncMsg> sync_recv(int fd) {
    auto m = TRY(sync_recv_or_eof(fd));
    if (!m) return error("sync: the container's init exited before reporting");
    return std::move(*m);
}

Result<std::optional<SyncMsg>> sync_recv_or_eof(int fd) {
    std::vector<char> buf(kSyncMax);
    ssize_t n;
    do {
        n = ::recv(fd, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("sync: receive");
    if (n == 0) return std::optional<SyncMsg>{};
    if (size_t(n) < sizeof(Header)) return error("sync: short message");
    Header h;
    std::memcpy(&h, buf.data(), sizeof h);
    SyncMsg m;
    m.type = static_cast<SyncType>(h.type);
    m.value = h.value;
    m.payload.assign(buf.data() + sizeof h, size_t(n) - sizeof h);
    return std::optional<SyncMsg>(std::move(m));
}

Result<SyncMsg> sync_expect(int fd, SyncType want) {
    auto m = TRY(sync_recv(fd));
    if (m.type == SyncType::kError) return Error(int(m.value), m.payload);
    if (m.type != want)
        return error(std::string("sync: expected ") + sync_name(want) + ", got " +
                     sync_name(m.type));
    return m;
}

Status send_fd(int sock, int fd, std::string_view name) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{const_cast<char*>(name.data()), name.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
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
    return ok();
}

Result<UniqueFd> recv_fd(int sock) {
    char name[4096];
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{name, sizeof name};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("receive fd");
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    if (!c || c->cmsg_type != SCM_RIGHTS) return error("receive fd: no fd in the message");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

}  // namespace berth::runtime
