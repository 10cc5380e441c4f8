// pty allocation, console socket, raw mode.
#include "runtime/linux/terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/unix_socket.hpp"
#include "runtime/linux/mounts.hpp"

namespace berth::runtime::linux_ {

Status set_window_size(int fd, unsigned rows, unsigned cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) return sys_error("set terminal size");
    return ok();
}

Result<Pty> open_pty(const std::optional<spec::Box>& size) {
    Pty p;
    p.master = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!p.master) return sys_error("open /dev/ptmx");
    if (::unlockpt(p.master.get()) < 0) return sys_error("unlockpt");
    // TIOCGPTPEER opens the slave through the master, without a path lookup the container
    // could redirect.
    int s = ::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) return sys_error("open pty slave");
    p.slave = UniqueFd(s);
    if (size && size->height && size->width)
        TRY(set_window_size(p.master.get(), size->height, size->width));
    return p;
}

Status bind_console(int slave) {
    // The entry made before pivot, never a symlink or a node the container put there since
    // (the container's processes do not run yet, but the rootfs is the bundle's).
    UniqueFd target(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat sb;
    if (!target || ::fstat(target.get(), &sb) < 0) return sys_error("/dev/console");
    if (!S_ISREG(sb.st_mode)) return error("/dev/console: not the mount point berth made");
    // The slave is in this mount namespace's devpts, so its mount can be cloned by fd.
    auto tree = TRY_CTX(clone_tree(slave, "", false), "/dev/console: bind pty");
    return attach_tree(tree.get(), target.get(), "/dev/console");
}

Status attach_terminal(int slave) {
    if (::ioctl(slave, TIOCSCTTY, 0) < 0) return sys_error("set controlling terminal");
    for (int i = 0; i < 3; ++i)
        if (::dup2(slave, i) < 0) return sys_error("dup terminal to stdio");
    return ok();
}

Result<UniqueFd> console_channel(bool relay, const std::string& console_socket,
                                 UniqueFd& child_end) {
    if (!relay) {
        child_end = TRY(connect_console_socket(console_socket));
        return UniqueFd();
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    child_end = UniqueFd(sv[1]);
    return UniqueFd(sv[0]);
}

Result<UniqueFd> connect_console_socket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    auto addr = unix_address(path);
    if (!addr) return std::move(addr).error().with_context("console socket");
    if (::connect(fd.get(), addr->get(), addr->len) < 0)
        return sys_error("connect to console socket '" + path + "'");
    return fd;
}

RawMode::RawMode(int fd) {
    termios t;
    if (::tcgetattr(fd, &t) < 0) return;
    saved_ = t;
    // Fully raw, output processing (OPOST) included, as runc's console.SetRaw: the container's
    // own pty already turns "\n" into "\r\n"; a second translation here printed "\r\r\n".
    ::cfmakeraw(&t);
    if (::tcsetattr(fd, TCSANOW, &t) == 0) fd_ = fd;
}

RawMode::~RawMode() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace berth::runtime::linux_
