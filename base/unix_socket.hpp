// AF_UNIX addresses for filesystem paths of any length.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth {

// sun_path holds 107 bytes; engines put state and sockets under long roots (a 64-hex id
// under a test's or a shim's --root easily passes that). A longer path is reached as
// /proc/self/fd/N/<name>, N an O_PATH descriptor of its directory that `dir` keeps open
// until bind/connect has returned.
struct UnixAddress {
    sockaddr_un addr{};
    socklen_t len = 0;
    UniqueFd dir;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

Result<UnixAddress> unix_address(const std::string& path);

}  // namespace berth
