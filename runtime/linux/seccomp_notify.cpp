// Seccomp notify plumbing: passing the listener fd child -> parent -> agent (SCM_RIGHTS).
#include <sys/socket.h>

#include "base/fd_passing.hpp"
#include "base/unix_socket.hpp"
#include "runtime/linux/seccomp.hpp"

namespace berth::seccomp {
Status send_fd(int sock, int fd) {
    return ::berth::send_fd(sock, fd, "S").context("send seccomp listener fd");
}

Result<UniqueFd> receive_fd(int sock) {
    auto r = TRY_CTX(::berth::recv_fd(sock, 1), "receive seccomp listener fd");
    return std::move(r.fd);
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
    // listenerPath may be longer than sun_path (engines put it under long state roots).
    auto addr = TRY_CTX(unix_address(path), what);
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return sys_error(what + ": socket");
    int rc;
    do {
        rc = connect(sock.get(), addr.get(), addr.len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return sys_error(what + ": connect");
    std::string msg = process_state_json(metadata, state, pid);
    return ::berth::send_fd(sock.get(), listener_fd, msg).context(what);
}

}  // namespace berth::seccomp
