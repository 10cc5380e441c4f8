// ChildProcess: pidfd_open, pidfd_send_signal and waitid(P_PIDFD).
#include "base/child_process.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth {

ChildProcess ChildProcess::adopt(pid_t pid) {
    ChildProcess c;
    c.pid_ = pid;
    if (pid > 0) c.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    return c;
}

Status ChildProcess::signal(int sig) {
    if (pid_ <= 0 || reaped_) return Error::sys(ESRCH, "signal process");
    int r = pidfd_ ? int(::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0))
                   : ::kill(pid_, sig);
    if (r < 0) return sys_error("signal process " + std::to_string(pid_));
    return ok();
}

Result<int> ChildProcess::wait() {
    if (pid_ <= 0 || reaped_) return Error::sys(ECHILD, "wait for process");
    // ECHILD: a waitpid(-1) elsewhere reaped it; it is gone either way.
    auto waited_elsewhere = [&]() -> Error {
        Error e = sys_error("wait for process " + std::to_string(pid_));
        if (e.code() == ECHILD) reaped_ = true;
        return e;
    };
    int status = 0;
    if (pidfd_) {
        siginfo_t si{};
        while (::waitid(idtype_t(P_PIDFD), id_t(pidfd_.get()), &si, WEXITED) < 0)
            if (errno != EINTR) return waited_elsewhere();
        status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
    } else {
        while (::waitpid(pid_, &status, 0) < 0)
            if (errno != EINTR) return waited_elsewhere();
    }
    reaped_ = true;
    return status;
}

void ChildProcess::kill_and_reap() noexcept {
    if (pid_ <= 0 || reaped_) return;
    (void)signal(SIGKILL);
    (void)wait();
}

}  // namespace berth
