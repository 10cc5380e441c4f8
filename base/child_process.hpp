// ChildProcess: a child of this process held by a pidfd, so that a signal or a wait can never
// reach another process that got the pid after the child was reaped.
#pragma once

#include <sys/types.h>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth {

class ChildProcess {
  public:
    ChildProcess() = default;
    // Holds `pid`, a child of this process that nobody has waited for yet: until it is
    // reaped its pid cannot be reused, so the pidfd taken here is the child's. Without
    // pidfd_open (kernel < 5.3) the pid alone is kept, and signal() refuses once it is reaped.
    static ChildProcess adopt(pid_t pid);

    pid_t pid() const { return pid_; }
    explicit operator bool() const { return pid_ > 0; }
    bool reaped() const { return reaped_; }

    // Sends sig through the pidfd. A child already reaped gets nothing (ESRCH).
    Status signal(int sig);
    // Waits for the child to end and reaps it; returns the wait(2) status.
    Result<int> wait();
    // SIGKILL, then reap; nothing for an empty or already reaped child. Never fails: it is
    // the clean-up of a failure path.
    void kill_and_reap() noexcept;

  private:
    pid_t pid_ = 0;
    UniqueFd pidfd_;
    bool reaped_ = false;
};

}  // namespace berth
