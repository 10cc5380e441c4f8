// AF_UNIX addresses for filesystem paths of any length.
#include "base/unix_socket.hpp"

#include <fcntl.h>

#include <cstddef>
#include <cstring>

namespace berth {

Result<UnixAddress> unix_address(const std::string& path) {
    UnixAddress a;
    a.addr.sun_family = AF_UNIX;
    std::string p = path;
    if (p.empty()) return error("empty socket path");
    if (p.size() >= sizeof a.addr.sun_path) {
        size_t slash = p.rfind('/');
        std::string parent = slash == std::string::npos ? "."
                             : slash == 0               ? "/"
                                                        : p.substr(0, slash);
        std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
        a.dir.reset(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!a.dir) return sys_error("socket directory '" + parent + "'");
        p = "/proc/self/fd/" + std::to_string(a.dir.get()) + "/" + name;
        if (p.size() >= sizeof a.addr.sun_path)
            return error("socket name too long: '" + path + "'");
    }
    std::memcpy(a.addr.sun_path, p.c_str(), p.size());
    a.len = socklen_t(offsetof(sockaddr_un, sun_path) + p.size() + 1);
    return a;
}

}  // namespace berth
