// Hook runner: fork, state on stdin, wait with a pidfd so the timeout needs no signals.
#include "runtime/linux/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.hpp"

namespace berth::runtime::linux_ {

namespace {
Status run_one(const spec::Hook& h, const std::string& state) {
    int pfd[2];
    if (::pipe2(pfd, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(pfd[0]), wr(pfd[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (::dup2(rd.get(), 0) < 0) ::_exit(127);
        ::execve(h.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    rd.reset();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    // A hook that does not read its stdin must not fail the write: ignore EPIPE.
    (void)write_all(wr.get(), state);
    wr.reset();
    if (h.timeout && pidfd) {
        pollfd p{pidfd.get(), POLLIN, 0};
        int r;
        do {
            r = ::poll(&p, 1, *h.timeout * 1000);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            return error("timed out after " + std::to_string(*h.timeout) + "s");
        }
    }
    int status;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return sys_error("wait");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return error("exec failed (missing or not executable?), exit status 127");
    if (WIFEXITED(status)) return error("exit status " + std::to_string(WEXITSTATUS(status)));
    return error("killed by signal " + std::to_string(WTERMSIG(status)));
}
}  // namespace

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind,
                 const std::string& state_json) {
    // The hook must not die of SIGPIPE through us either.
    struct sigaction old {}, ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    Status result;
    for (size_t i = 0; i < hooks.size(); ++i) {
        auto st = run_one(hooks[i], state_json);
        if (!st) {
            result = std::move(st).error().with_context(kind + " hook #" + std::to_string(i) +
                                                        " (" + hooks[i].path + ")");
            break;
        }
    }
    ::sigaction(SIGPIPE, &old, nullptr);
    return result;
}

}  // namespace berth::runtime::linux_
