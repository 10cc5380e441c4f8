// SCM_RIGHTS: one file descriptor sent or received with a message over an AF_UNIX socket.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth {

// Sends `data` (at least one byte: the fd travels with it) and `fd`. On a stream socket a
// short write is finished as plain data: the fd went with the first byte.
Status send_fd(int sock, int fd, std::string_view data);

struct ReceivedFd {
    UniqueFd fd;
    std::string data;  // the bytes that came with it (one recvmsg, at most max_data)
};

// Receives one message carrying exactly one fd (O_CLOEXEC). Fails, closing whatever did
// arrive, when the peer closed the socket, the message carries no fd, or the kernel cut the
// control data (MSG_CTRUNC: more fds than one, which would otherwise leak unseen).
Result<ReceivedFd> recv_fd(int sock, size_t max_data = 4096);

}  // namespace berth
