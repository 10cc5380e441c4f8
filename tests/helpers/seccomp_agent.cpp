// Test helper: a seccomp notify agent. Listens on a unix socket, takes one runtime-spec
// "container process state" message with the listener fd (SCM_RIGHTS), writes the JSON to a
// file, then answers mkdir/mkdirat with a chosen errno (0: pretend success without doing it)
// and lets every other notified syscall continue. Exits when the filtered processes are gone.
//
// Usage: seccomp-agent SOCKET STATE_OUT ERRNO
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "seccomp-agent: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

int receive(int conn, std::string* json) {
    std::vector<char> buf(1 << 16);
    struct iovec iov {
        buf.data(), buf.size()
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) die("recvmsg");
    int fd = -1;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    if (fd < 0) {
        errno = EBADMSG;
        die("message without fd");
    }
    json->assign(buf.data(), size_t(n));
    // A stream may split the JSON; read on until it parses. Not until EOF: runc keeps the
    // connection open while the container runs, so EOF may never come.
    while (!nlohmann::json::accept(*json)) {
        ssize_t m = read(conn, buf.data(), buf.size());
        if (m <= 0) break;
        json->append(buf.data(), size_t(m));
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: seccomp-agent SOCKET STATE_OUT ERRNO\n");
        return 2;
    }
    const char* path = argv[1];
    const char* state_out = argv[2];
    int answer_errno = std::atoi(argv[3]);

    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    unlink(path);
    if (bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) die("bind");
    if (listen(sock, 1) < 0) die("listen");
    // Tell whoever started us that the socket is ready.
    std::printf("ready\n");
    std::fflush(stdout);

    int conn = accept4(sock, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) die("accept");
    std::string json;
    int notify_fd = receive(conn, &json);
    close(conn);
    close(sock);
    unlink(path);
    if (FILE* f = std::fopen(state_out, "w")) {
        std::fputs(json.c_str(), f);
        std::fclose(f);
    }

    struct seccomp_notif_sizes sizes {};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) die("notif sizes");
    std::vector<char> req_buf(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    std::vector<char> resp_buf(
        std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
    for (;;) {
        struct pollfd p {
            notify_fd, POLLIN, 0
        };
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (!(p.revents & POLLIN)) break;  // POLLHUP: no process uses the filter any more
        std::memset(req_buf.data(), 0, req_buf.size());
        auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
            if (errno == EINTR || errno == ENOENT) continue;  // the caller went away
            die("NOTIF_RECV");
        }
        std::memset(resp_buf.data(), 0, resp_buf.size());
        auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
        resp->id = req->id;
        bool is_mkdir = false;
#ifdef SYS_mkdir
        is_mkdir = req->data.nr == SYS_mkdir;
#endif
        if (is_mkdir || req->data.nr == SYS_mkdirat) {
            resp->error = -answer_errno;
            resp->val = 0;
        } else {
            resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        }
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
            die("NOTIF_SEND");
    }
    return 0;
}
