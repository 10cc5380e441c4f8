// Terminals: the pty of a `terminal: true` process, the console socket its master is sent
// over (runc's protocol: one SCM_RIGHTS message), and raw mode for a foreground `run`.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

struct Pty {
    UniqueFd master, slave;
};

// A new pty pair from /dev/ptmx. Called once "/" is the container's root (after pivot for
// init, after joining the mount namespace for exec), so the pair belongs to the container's
// own devpts: the slave is /dev/pts/N inside, with that mount's gid= and mode= (runc's way).
Result<Pty> open_pty(const std::optional<spec::Box>& size);

// After pivot: binds the slave onto the empty /dev/console file the rootfs setup made before
// pivot (RootfsContext::console), which works on a read-only /dev too.
Status bind_console(int slave);
// In the child: new session, slave as controlling terminal and stdio.
Status attach_terminal(int slave);
// Connects to the --console-socket path (a unix stream socket the caller listens on).
Result<UniqueFd> connect_console_socket(const std::string& path);
Status set_window_size(int fd, unsigned rows, unsigned cols);

// Where a terminal process's pty master goes. relay: berth itself relays the terminal (a
// foreground run or exec): a socketpair, whose child end is put in child_end and whose
// parent end is returned. Otherwise the --console-socket path is connected into child_end and
// an invalid fd returned.
Result<UniqueFd> console_channel(bool relay, const std::string& console_socket,
                                 UniqueFd& child_end);

// Puts the caller's terminal in raw mode; the destructor restores it.
class RawMode {
  public:
    RawMode() = default;
    explicit RawMode(int fd);
    ~RawMode();
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;

  private:
    int fd_ = -1;
    termios saved_{};
};

}  // namespace berth::runtime::linux_
