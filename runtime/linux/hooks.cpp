// Hook runner: fork, state on stdin, stdout and stderr captured for the error, wait with a
// pidfd so the timeout needs no signals. Failures read as runc 1.1.5's (Go's exec) words.
#include "runtime/linux/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "base/file.hpp"
#include "runtime/linux/user.hpp"

namespace berth::runtime::linux_ {

namespace {
// What a hook may write that the error keeps, per stream: the error crosses a SEQPACKET
// socket from the container's init, and a line in a log should stay readable.
constexpr size_t kCaptureMax = 16 << 10;

// Reads what fd holds now into s (past the cap, reads and drops); false at EOF.
bool drain(int fd, std::string& s) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            if (s.size() < kCaptureMax) s.append(buf, std::min(size_t(n), kCaptureMax - s.size()));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 && errno == EAGAIN;
    }
}

long long now_ms() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

Status run_one(const spec::Hook& h, const std::string& state) {
    int in[2], out[2], err[2], ex[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd in_rd(in[0]), in_wr(in[1]);
    if (::pipe2(out, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd out_rd(out[0]), out_wr(out[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd err_rd(err[0]), err_wr(err[1]);
    // execve's errno comes back here; a successful exec closes it (CLOEXEC) with nothing said.
    if (::pipe2(ex, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd ex_rd(ex[0]), ex_wr(ex[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    std::vector<char*> argv, envp;
    for (auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : h.env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (::dup2(in_rd.get(), 0) < 0 || ::dup2(out_wr.get(), 1) < 0 ||
            ::dup2(err_wr.get(), 2) < 0)
            ::_exit(127);
        ::execve(h.path.c_str(), argv.data(), envp.data());
        int e = errno;
        (void)!::write(ex_wr.get(), &e, sizeof e);
        ::_exit(127);
    }
    in_rd.reset();
    out_wr.reset();
    err_wr.reset();
    ex_wr.reset();
    int exec_errno = 0;
    ssize_t got;
    do {
        got = ::read(ex_rd.get(), &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    if (got == sizeof exec_errno) {
        ::waitpid(pid, nullptr, 0);
        // Go's os.StartProcess error, as runc prints it.
        return error("fork/exec " + h.path + ": " + go_errno_text(exec_errno));
    }
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    // A hook that does not read its stdin must not fail the write: EPIPE is ignored (the
    // state is far below a pipe's buffer, so this never waits on the hook).
    (void)write_all(in_wr.get(), state);
    in_wr.reset();
    for (int fd : {out_rd.get(), err_rd.get()})
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

    std::string sout, serr;
    bool out_open = true, err_open = true;
    long long deadline = h.timeout ? now_ms() + *h.timeout * 1000LL : -1;
    int status = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) return sys_error("wait");
        pollfd p[3];
        nfds_t n = 0;
        if (pidfd) p[n++] = {pidfd.get(), POLLIN, 0};
        int oi = -1, ei = -1;
        if (out_open) oi = int(n), p[n++] = {out_rd.get(), POLLIN, 0};
        if (err_open) ei = int(n), p[n++] = {err_rd.get(), POLLIN, 0};
        // Without a pidfd (kernel < 5.3) the exit is polled for.
        int wait_ms = pidfd ? -1 : 50;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                char secs[32];
                std::snprintf(secs, sizeof secs, "%.1f", double(*h.timeout));
                return error(std::string("hook ran past specified timeout of ") + secs + "s");
            }
            if (wait_ms < 0 || left < wait_ms) wait_ms = int(left);
        }
        int r = ::poll(p, n, wait_ms);
        if (r < 0 && errno != EINTR) return sys_error("poll");
        if (r <= 0) continue;
        if (oi >= 0 && p[oi].revents) out_open = drain(out_rd.get(), sout);
        if (ei >= 0 && p[ei].revents) err_open = drain(err_rd.get(), serr);
    }
    // What the hook wrote before it exited; a child it left behind holding the pipes is not
    // waited for (runc would wait for it).
    if (out_open) drain(out_rd.get(), sout);
    if (err_open) drain(err_rd.get(), serr);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
    // Go's ProcessState.String() inside runc's "error running hook: %w, stdout: %s, stderr: %s".
    std::string how;
    if (WIFEXITED(status)) {
        how = "exit status " + std::to_string(WEXITSTATUS(status));
    } else {
        how = "signal: " + go_signal_text(WTERMSIG(status));
        if (WCOREDUMP(status)) how += " (core dumped)";
    }
    return error("error running hook: " + how + ", stdout: " + sout + ", stderr: " + serr);
}
}  // namespace

std::string go_signal_text(int sig) {
    // Go's syscall signal names for Linux (what runc prints), not strsignal's.
    static const char* const kNames[] = {
        nullptr,
        "hangup",
        "interrupt",
        "quit",
        "illegal instruction",
        "trace/breakpoint trap",
        "aborted",
        "bus error",
        "floating point exception",
        "killed",
        "user defined signal 1",
        "segmentation fault",
        "user defined signal 2",
        "broken pipe",
        "alarm clock",
        "terminated",
        "stack fault",
        "child exited",
        "continued",
        "stopped (signal)",
        "stopped",
        "stopped (tty input)",
        "stopped (tty output)",
        "urgent I/O condition",
        "CPU time limit exceeded",
        "file size limit exceeded",
        "virtual timer expired",
        "profiling timer expired",
        "window changed",
        "I/O possible",
        "power failure",
        "bad system call",
    };
    if (sig > 0 && size_t(sig) < std::size(kNames)) return kNames[sig];
    return "signal " + std::to_string(sig);
}

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind,
                 const std::string& state_json) {
    // The hook must not die of SIGPIPE through us either.
    struct sigaction old {
    }, ign{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    Status result;
    for (size_t i = 0; i < hooks.size(); ++i) {
        auto st = run_one(hooks[i], state_json);
        if (!st) {
            // runc's words (engines and scripts match "error running hook #N"); the kind
            // goes in front, which runc leaves out.
            result = std::move(st).error().with_context(kind + ": error running hook #" +
                                                        std::to_string(i));
            break;
        }
    }
    // A SIGPIPE raised while it was blocked stays pending even though ignored (the kernel
    // never ignores a blocked signal; `run` blocks the relayed ones), and would kill berth
    // once the default came back and the mask was lifted. Setting SIG_IGN again discards it.
    ::sigaction(SIGPIPE, &ign, nullptr);
    ::sigaction(SIGPIPE, &old, nullptr);
    return result;
}

}  // namespace berth::runtime::linux_
