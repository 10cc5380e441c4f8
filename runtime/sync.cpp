// The parent/child sync messages (protocol table in sync.hpp) and fd passing.
#include "runtime/sync.hpp"

#include "base/fd_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>

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
    uint32_t flags;
    int64_t value;
};
// More of this message's payload follows in the next packet.
constexpr uint32_t kMore = 1;
// The whole payload a message may carry: config.json itself is capped at 64 MiB, and the
// state JSON (its annotations) is smaller than that.
constexpr size_t kPayloadMax = 64u << 20;
}  // namespace

Result<std::pair<UniqueFd, UniqueFd>> sync_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    return std::make_pair(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Status sync_send(int fd, SyncType type, int64_t value, std::string_view payload) {
    if (payload.size() > kPayloadMax)
        return error(std::string("sync: ") + sync_name(type) + " message too large (" +
                     std::to_string(payload.size()) + " bytes)");
    // A SEQPACKET packet must fit the socket buffer: a long payload (the state JSON with
    // large annotations) goes as several packets, each but the last flagged kMore.
    constexpr size_t chunk = kSyncMax - sizeof(Header);
    do {
        std::string_view part = payload.substr(0, chunk);
        payload.remove_prefix(part.size());
        Header h{static_cast<uint32_t>(type), payload.empty() ? 0 : kMore, value};
        iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(part.data()), part.size()}};
        msghdr mh{};
        mh.msg_iov = iov;
        mh.msg_iovlen = part.empty() ? 1 : 2;
        ssize_t n;
        do {
            n = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return sys_error(std::string("sync: send ") + sync_name(type));
    } while (!payload.empty());
    return ok();
}

Result<SyncMsg> sync_recv(int fd) {
    auto m = TRY(sync_recv_or_eof(fd));
    if (!m) return error("sync: the container's init exited before reporting");
    return std::move(*m);
}

Result<std::optional<SyncMsg>> sync_recv_or_eof(int fd) {
    // Not zero-filled: a message is a few bytes, and filling (and so faulting in) 64 KiB for
    // each of them showed in profiles of `run`.
    auto buf = std::make_unique_for_overwrite<char[]>(kSyncMax);
    SyncMsg m;
    for (bool first = true;; first = false) {
        ssize_t n;
        do {
            n = ::recv(fd, buf.get(), kSyncMax, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return sys_error("sync: receive");
        if (n == 0) {
            if (first) return std::optional<SyncMsg>{};
            return error(std::string("sync: ") + sync_name(m.type) + " message cut short");
        }
        if (size_t(n) < sizeof(Header)) return error("sync: short message");
        Header h;
        std::memcpy(&h, buf.get(), sizeof h);
        if (!first && static_cast<SyncType>(h.type) != m.type)
            return error(std::string("sync: ") + sync_name(m.type) + " message interrupted");
        m.type = static_cast<SyncType>(h.type);
        m.value = h.value;
        if (m.payload.size() + size_t(n) - sizeof h > kPayloadMax)
            return error(std::string("sync: ") + sync_name(m.type) + " message too large");
        m.payload.append(buf.get() + sizeof h, size_t(n) - sizeof h);
        if (!(h.flags & kMore)) break;
    }
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
    return ::berth::send_fd(sock, fd, name);
}

Result<UniqueFd> recv_fd(int sock) {
    auto r = TRY(::berth::recv_fd(sock));
    return std::move(r.fd);
}

}  // namespace berth::runtime
