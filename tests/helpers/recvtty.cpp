// recvtty: the console-socket receiver berth's tty tests use (runc's recvtty, smaller).
// Listens on a unix socket, takes one pty master over SCM_RIGHTS, optionally writes --input
// to it, prints the terminal size with --print-size, and copies the terminal's output to
// stdout until the container side closes.
//
// --ack TEXT: once the output holds TEXT, write a newline to the terminal (once). A process
// that prints TEXT and then reads a line exits only after everything it wrote before TEXT was
// read here: output still in flight when the last slave fd closes can be lost on Linux (seen
// under runc and berth alike on a loaded machine).
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    std::string path, input, ack;
    bool print_size = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--input" && i + 1 < argc)
            input = argv[++i];
        else if (a == "--ack" && i + 1 < argc)
            ack = argv[++i];
        else if (a == "--print-size")
            print_size = true;
        else
            path = a;
    }
    if (path.empty()) {
        std::fprintf(stderr, "usage: recvtty [--input TEXT] [--ack TEXT] [--print-size] SOCKET\n");
        return 2;
    }
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    unlink(path.c_str());
    if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        listen(ls, 1) < 0) {
        std::perror("recvtty: listen");
        return 1;
    }
    int c = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
        std::perror("recvtty: accept");
        return 1;
    }
    char name[4096];
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{name, sizeof name};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) < 0) {
        std::perror("recvtty: recvmsg");
        return 1;
    }
    cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) {
        std::fprintf(stderr, "recvtty: no fd received\n");
        return 1;
    }
    int master;
    std::memcpy(&master, CMSG_DATA(cm), sizeof master);
    close(c);
    close(ls);
    unlink(path.c_str());
    if (print_size) {
        winsize ws{};
        ioctl(master, TIOCGWINSZ, &ws);
        std::printf("size %u %u\n", ws.ws_row, ws.ws_col);
        std::fflush(stdout);
    }
    if (!input.empty() && write(master, input.data(), input.size()) < 0)
        std::perror("recvtty: write");
    char buf[4096];
    std::string seen;
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EIO: every slave fd is closed
        if (write(1, buf, size_t(n)) < 0) break;
        if (!ack.empty()) {
            seen.append(buf, size_t(n));
            if (seen.find(ack) != std::string::npos) {
                if (write(master, "\n", 1) < 0) std::perror("recvtty: write");
                ack.clear();
                seen.clear();
            }
        }
    }
    return 0;
}
