// ChildProcess: once reaped, a child is never signalled again, whatever holds its pid now.
#include "base/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth {
namespace {

pid_t fork_exiting(int code) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(code);
    return pid;
}

TEST(ChildProcess, WaitGivesTheExitStatusAndReapsOnce) {
    ChildProcess c = ChildProcess::adopt(fork_exiting(7));
    ASSERT_TRUE(c);
    auto st = c.wait();
    ASSERT_TRUE(st) << st.error().str();
    EXPECT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 7);
    EXPECT_TRUE(c.reaped());
    auto again = c.wait();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ECHILD);
}

TEST(ChildProcess, KilledChildReportsTheSignal) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::pause();
        ::_exit(0);
    }
    ChildProcess c = ChildProcess::adopt(pid);
    ASSERT_TRUE(c.signal(SIGTERM));
    auto st = c.wait();
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFSIGNALED(*st));
    EXPECT_EQ(WTERMSIG(*st), SIGTERM);
}

// The pid of a reaped child is free for reuse: no signal may be sent to it any more.
TEST(ChildProcess, NoSignalAfterReap) {
    ChildProcess c = ChildProcess::adopt(fork_exiting(0));
    ASSERT_TRUE(c.wait());
    auto s = c.signal(SIGKILL);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ESRCH);
    c.kill_and_reap();  // a no-op, not a kill(2) of a recycled pid
}

// A child reaped behind ChildProcess's back (waitpid(-1) in a foreground loop): the pidfd
// still names the dead process, so the signal fails with ESRCH instead of reaching a new one.
TEST(ChildProcess, ReapedElsewhereIsNotSignalled) {
    pid_t pid = fork_exiting(0);
    ChildProcess c = ChildProcess::adopt(pid);
    ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
    auto s = c.signal(SIGKILL);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ESRCH);
    c.kill_and_reap();
    EXPECT_TRUE(c.reaped());
}

TEST(ChildProcess, EmptyIsHarmless) {
    ChildProcess c;
    EXPECT_FALSE(c);
    EXPECT_FALSE(c.signal(SIGKILL));
    c.kill_and_reap();
}

}  // namespace
}  // namespace berth
