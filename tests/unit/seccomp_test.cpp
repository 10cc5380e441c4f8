// Unit tests for runtime/linux/seccomp: translation, errors, and real filters in forked children.
#include "runtime/linux/seccomp.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "base/file.hpp"
#include "runtime/linux/seccomp_tables.hpp"
#include "tests/fixtures/seccomp/seccomp_json.hpp"

using berth::seccomp::CompiledFilter;
using berth::spec::Seccomp;
using berth::spec::SeccompArg;
using berth::spec::SeccompSyscall;
namespace sc = berth::seccomp;

namespace {

SeccompSyscall rule(std::vector<std::string> names, std::string action,
                    std::optional<uint32_t> errno_ret = std::nullopt,
                    std::vector<SeccompArg> args = {}) {
    SeccompSyscall s;
    s.names = std::move(names);
    s.action = std::move(action);
    s.errno_ret = errno_ret;
    s.args = std::move(args);
    return s;
}

SeccompArg arg(uint32_t index, uint64_t value, std::string op,
               std::optional<uint64_t> two = std::nullopt) {
    SeccompArg a;
    a.index = index;
    a.value = value;
    a.op = std::move(op);
    a.value_two = two;
    return a;
}

Seccomp profile(std::string def, std::vector<SeccompSyscall> rules) {
    Seccomp p;
    p.default_action = std::move(def);
    p.syscalls = std::move(rules);
    return p;
}

std::string compile_error(const Seccomp& p) {
    auto r = sc::compile(p);
    return r ? std::string("<compiled>") : r.error().str();
}

class TempDir {
  public:
    TempDir() {
        char t[] = "/tmp/berth-seccomp-test.XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { (void)berth::remove_all(path); }
    std::string path;
};

// Runs body in a forked child under the filter (no_new_privs, so no root needed) and returns
// the raw wait status. body returns the child's exit code.
int run_filtered(const CompiledFilter& f, const std::function<int()>& body) {
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(120);
        auto fd = sc::load(f);
        if (!fd) _exit(121);
        _exit(body());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

// The child's exit code is the errno its syscall failed with (0: it succeeded).
int errno_of(long rc) {
    return rc < 0 ? errno : 0;
}

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

}  // namespace

// --- translation and errors ---

TEST(SeccompCompile, EveryActionCompiles) {
    for (const auto& a : sc::all_actions()) {
        Seccomp p = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, a.name)});
        if (std::string(a.name) == "SCMP_ACT_NOTIFY") p.listener_path = "/tmp/x.sock";
        auto f = sc::compile(p);
        ASSERT_TRUE(f) << a.name << ": " << f.error().str();
        EXPECT_FALSE(f->program.empty());
        EXPECT_EQ(f->needs_listener, std::string(a.name) == "SCMP_ACT_NOTIFY") << a.name;
    }
}

TEST(SeccompCompile, EveryDefaultActionButNotifyCompiles) {
    for (const auto& a : sc::all_actions()) {
        Seccomp p = profile(a.name, {rule({"getpid"}, "SCMP_ACT_ALLOW")});
        if (std::string(a.name) == "SCMP_ACT_NOTIFY") {
            EXPECT_NE(compile_error(p).find("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY"),
                      std::string::npos);
            continue;
        }
        EXPECT_TRUE(sc::compile(p)) << a.name;
    }
}

TEST(SeccompCompile, EveryOperatorCompiles) {
    for (const auto& o : sc::all_operators()) {
        Seccomp p = profile("SCMP_ACT_ALLOW",
                            {rule({"personality"}, "SCMP_ACT_ERRNO", {}, {arg(0, 8, o.name, 8)})});
        auto f = sc::compile(p);
        EXPECT_TRUE(f) << o.name << ": " << (f ? "" : f.error().str());
    }
}

TEST(SeccompCompile, EveryArchitectureCompiles) {
    for (const auto& a : sc::all_archs()) {
        Seccomp p = profile("SCMP_ACT_ERRNO", {rule({"read", "write"}, "SCMP_ACT_ALLOW")});
        p.architectures = {a.name};
        auto f = sc::compile(p);
        EXPECT_TRUE(f) << a.name << ": " << (f ? "" : f.error().str());
    }
}

TEST(SeccompCompile, FlagsMapToKernelBits) {
    Seccomp p = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO")});
    p.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    auto f = sc::compile(p);
    ASSERT_TRUE(f) << f.error().str();
    EXPECT_EQ(f->flags, unsigned(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));

    // TSYNC is meaningless for the single-threaded child and ignored, as runc does.
    p.flags = {"SECCOMP_FILTER_FLAG_TSYNC"};
    f = sc::compile(p);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->flags, 0u);

    // WAIT_KILLABLE_RECV only means something with a listener.
    p.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    f = sc::compile(p);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->flags, 0u);
    p.syscalls.push_back(rule({"mkdirat"}, "SCMP_ACT_NOTIFY"));
    p.listener_path = "/tmp/agent.sock";
    f = sc::compile(p);
    ASSERT_TRUE(f) << f.error().str();
    EXPECT_EQ(f->flags,
              unsigned(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER));
}

TEST(SeccompCompile, ErrorsNameTheField) {
    Seccomp p = profile("SCMP_ACT_ALLOW",
                        {rule({"mkdir"}, "SCMP_ACT_ERRNO"), rule({"rmdir"}, "SCMP_ACT_ERRNO"),
                         rule({"chdir"}, "SCMP_ACT_FOO")});
    EXPECT_EQ(compile_error(p), "linux.seccomp.syscalls[2].action: unknown action 'SCMP_ACT_FOO'");

    EXPECT_EQ(compile_error(profile("SCMP_ACT_BAR", {})),
              "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_BAR'");

    p = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO", {},
                                        {arg(0, 1, "SCMP_CMP_EQ"), arg(1, 1, "SCMP_CMP_BOGUS")})});
    EXPECT_EQ(compile_error(p),
              "linux.seccomp.syscalls[0].args[1].op: unknown operator 'SCMP_CMP_BOGUS'");

    p = profile("SCMP_ACT_ALLOW",
                {rule({"mkdir"}, "SCMP_ACT_ERRNO", {}, {arg(6, 1, "SCMP_CMP_EQ")})});
    EXPECT_EQ(compile_error(p), "linux.seccomp.syscalls[0].args[0].index: 6 out of range (0-5)");

    p = profile("SCMP_ACT_ALLOW", {});
    p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
    EXPECT_EQ(compile_error(p),
              "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'");

    p = profile("SCMP_ACT_ALLOW", {});
    p.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE"};
    EXPECT_EQ(compile_error(p), "linux.seccomp.flags[1]: unknown flag 'SECCOMP_FILTER_FLAG_NOPE'");

    p = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO", 70000)});
    EXPECT_EQ(compile_error(p),
              "linux.seccomp.syscalls[0].action: errnoRet 70000 out of range (0-65535)");

    p = profile("SCMP_ACT_ALLOW", {rule({}, "SCMP_ACT_ERRNO")});
    EXPECT_EQ(compile_error(p), "linux.seccomp.syscalls[0].names: at least one name required");

    p = profile("SCMP_ACT_ALLOW", {rule({"mkdir", ""}, "SCMP_ACT_ERRNO")});
    EXPECT_EQ(compile_error(p), "linux.seccomp.syscalls[0].names[1]: empty name");
}

TEST(SeccompCompile, NotifyNeedsListenerPathAndSparesWrite) {
    Seccomp p = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_NOTIFY")});
    EXPECT_EQ(compile_error(p),
              "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
    p.listener_path = "/tmp/agent.sock";
    p.syscalls = {rule({"mkdir", "write"}, "SCMP_ACT_NOTIFY")};
    EXPECT_NE(compile_error(p).find("linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be "
                                    "used for 'write'"),
              std::string::npos);
}

TEST(SeccompCompile, UnknownSyscallIsSkipped) {
    Seccomp known = profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO")});
    Seccomp with_unknown =
        profile("SCMP_ACT_ALLOW", {rule({"no_such_syscall_berth", "mkdir"}, "SCMP_ACT_ERRNO"),
                                   rule({"another_future_call"}, "SCMP_ACT_KILL")});
    auto a = sc::compile(known);
    auto b = sc::compile(with_unknown);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b) << b.error().str();
    ASSERT_EQ(a->program.size(), b->program.size());
    EXPECT_EQ(0, std::memcmp(a->program.data(), b->program.data(),
                             a->program.size() * sizeof(struct sock_filter)));
}

TEST(SeccompCompile, RuleWithDefaultActionIsDropped) {
    // libseccomp refuses a rule whose action is the default one (seccomp_rule_add: EACCES);
    // runc skips it silently. So compilation fails unless berth drops the rule itself. (The
    // program is not the one compiled without the rule: a syscall the profile names is
    // "known" to the ENOSYS stub either way.)
    Seccomp p = profile("SCMP_ACT_ERRNO",
                        {rule({"mkdir"}, "SCMP_ACT_ERRNO"), rule({"getpid"}, "SCMP_ACT_ALLOW")});
    auto a = sc::compile(p);
    ASSERT_TRUE(a) << a.error().str();
    EXPECT_FALSE(a->program.empty());
}

TEST(SeccompCompile, DockerDefaultProfileCompiles) {
    auto p =
        berth::testing::seccomp_from_file(BERTH_SRC "/tests/fixtures/seccomp/docker-default.json");
    size_t names = 0;
    for (const auto& s : p.syscalls)
        names += s.names.size();
    EXPECT_GT(names, 350u);
    auto f = sc::compile(p);
    ASSERT_TRUE(f) << f.error().str();
    EXPECT_GT(f->program.size(), 100u);
}

// --- loading in a child: what the kernel does ---

TEST(SeccompLoad, ErrnoDefaultIsEperm) {
    TempDir d;
    auto f = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")}));
    ASSERT_TRUE(f) << f.error().str();
    std::string target = d.path + "/x";
    int st = run_filtered(*f, [&] { return errno_of(mkdir(target.c_str(), 0700)); });
    EXPECT_EQ(exit_code(st), EPERM);
    EXPECT_FALSE(berth::path_exists(target));
}

TEST(SeccompLoad, CustomErrnoRetAndDefaultErrnoRet) {
    TempDir d;
    std::string target = d.path + "/x";
    auto f = sc::compile(
        profile("SCMP_ACT_ALLOW", {rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", EROFS)}));
    ASSERT_TRUE(f);
    EXPECT_EQ(exit_code(run_filtered(*f, [&] { return errno_of(mkdir(target.c_str(), 0700)); })),
              EROFS);

    // Default ERRNO with defaultErrnoRet: everything not allowed fails with it.
    Seccomp p = profile("SCMP_ACT_ALLOW", {});
    p.default_action = "SCMP_ACT_ERRNO";
    p.default_errno_ret = ENOTSUP;
    // The sanitizer runtimes' own calls stay allowed: under ASan the child's exit checks its
    // signal stack (sigaltstack) and maps memory after the filter is loaded; refused, ASan
    // dies with its exit code 1, which read as EPERM here until that was understood.
    p.syscalls = {rule({"exit", "exit_group", "prctl", "seccomp", "getpid", "mmap", "munmap",
                        "mprotect", "madvise", "brk", "write", "sigaltstack", "rt_sigaction",
                        "rt_sigprocmask", "gettid", "getrlimit", "prlimit64"},
                       "SCMP_ACT_ALLOW")};
    f = sc::compile(p);
    ASSERT_TRUE(f);
    EXPECT_EQ(exit_code(run_filtered(*f,
                                     [&] {
                                         if (syscall(SYS_getpid) < 0) return 99;
                                         return errno_of(syscall(SYS_mkdir, target.c_str(), 0700));
                                     })),
              ENOTSUP);
}

TEST(SeccompLoad, PersonalityArgumentFilter) {
    // Deny personality(PER_LINUX32) only; the query value 0xffffffff stays allowed.
    auto f = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"personality"}, "SCMP_ACT_ERRNO", EACCES,
                                                         {arg(0, PER_LINUX32, "SCMP_CMP_EQ")})}));
    ASSERT_TRUE(f);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(PER_LINUX32)); })),
              EACCES);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(0xffffffff)); })), 0);
}

TEST(SeccompLoad, MaskedEqualAndComparisons) {
    TempDir d;
    std::string target = d.path + "/x";
    // mkdir(path, mode): deny when any of the "other" permission bits is set.
    auto f = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO", EDOM,
                                                         {arg(1, 07, "SCMP_CMP_MASKED_EQ", 07)})}));
    ASSERT_TRUE(f);
    auto try_mode = [&](mode_t m) {
        return exit_code(run_filtered(*f, [&] {
            int e = errno_of(syscall(SYS_mkdir, target.c_str(), m));
            rmdir(target.c_str());
            return e;
        }));
    };
    EXPECT_EQ(try_mode(0777), EDOM);
    EXPECT_EQ(try_mode(0700), 0);

    // GT/LE on personality's argument.
    f = sc::compile(profile(
        "SCMP_ACT_ALLOW", {rule({"personality"}, "SCMP_ACT_ERRNO", EDOM,
                                {arg(0, 0x100, "SCMP_CMP_GT"), arg(0, 0x200000, "SCMP_CMP_LE")})}));
    ASSERT_TRUE(f);
    // Two comparisons on one argument become two rules (OR), as runc does.
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(8)); })), EDOM);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(0xffffffff)); })), EDOM);
}

TEST(SeccompLoad, KillVersusErrno) {
    auto kill = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_KILL")}));
    auto kill_process =
        sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_KILL_PROCESS")}));
    auto trap = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_TRAP")}));
    auto err = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_ERRNO")}));
    ASSERT_TRUE(kill && kill_process && trap && err);
    auto body = [] { return errno_of(syscall(SYS_getppid)); };
    EXPECT_EQ(exit_code(run_filtered(*kill, body)), -SIGSYS);
    EXPECT_EQ(exit_code(run_filtered(*kill_process, body)), -SIGSYS);
    EXPECT_EQ(exit_code(run_filtered(*trap, body)), -SIGSYS);
    EXPECT_EQ(exit_code(run_filtered(*err, body)), EPERM);
}

TEST(SeccompLoad, LogAndTraceWithoutTracer) {
    // LOG lets the call through (and logs it to the audit log).
    auto log = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_LOG")}));
    ASSERT_TRUE(log);
    EXPECT_EQ(exit_code(run_filtered(*log, [] { return errno_of(syscall(SYS_getppid)); })), 0);
    // A LOG default action with an ERRNO rule.
    auto logdef = sc::compile(profile("SCMP_ACT_LOG", {rule({"getppid"}, "SCMP_ACT_ERRNO", EIO)}));
    ASSERT_TRUE(logdef);
    EXPECT_EQ(exit_code(run_filtered(*logdef, [] { return errno_of(syscall(SYS_getppid)); })), EIO);
    // TRACE with no tracer attached: the kernel fails the call with ENOSYS.
    auto trace = sc::compile(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_TRACE")}));
    ASSERT_TRUE(trace);
    EXPECT_EQ(exit_code(run_filtered(*trace, [] { return errno_of(syscall(SYS_getppid)); })),
              ENOSYS);
}

TEST(SeccompLoad, LogFlagLoads) {
    Seccomp p = profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_ERRNO")});
    p.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
               "SECCOMP_FILTER_FLAG_TSYNC"};
    auto f = sc::compile(p);
    ASSERT_TRUE(f) << f.error().str();
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(syscall(SYS_getppid)); })), EPERM);
}

TEST(SeccompLoad, DockerDefaultProfileInChild) {
    TempDir d;
    auto p =
        berth::testing::seccomp_from_file(BERTH_SRC "/tests/fixtures/seccomp/docker-default.json");
    auto f = sc::compile(p);
    ASSERT_TRUE(f) << f.error().str();
    std::string target = d.path + "/x";
    EXPECT_EQ(exit_code(run_filtered(*f, [&] { return errno_of(mkdir(target.c_str(), 0700)); })),
              0);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(unshare(CLONE_NEWUTS)); })), EPERM);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(syscall(SYS_clone3, nullptr, 0)); })),
              ENOSYS);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(0xffffffff)); })), 0);
    EXPECT_EQ(exit_code(run_filtered(*f, [] { return errno_of(personality(PER_BSD)); })), EPERM);
    // fork() is clone without namespace flags: allowed by the MASKED_EQ rule.
    EXPECT_EQ(exit_code(run_filtered(*f,
                                     [] {
                                         pid_t c = fork();
                                         if (c == 0) _exit(0);
                                         if (c < 0) return errno;
                                         waitpid(c, nullptr, 0);
                                         return 0;
                                     })),
              0);
}

// --- cache ---

TEST(SeccompCache, HitReturnsTheSameProgramAndBadEntriesRecompile) {
    TempDir d;
    std::string dir = d.path + "/cache";
    auto p =
        berth::testing::seccomp_from_file(BERTH_SRC "/tests/fixtures/seccomp/docker-default.json");
    auto cold = sc::compile(p);
    auto first = sc::compile_cached(p, dir);
    auto second = sc::compile_cached(p, dir);
    ASSERT_TRUE(cold && first && second);
    ASSERT_EQ(cold->program.size(), second->program.size());
    EXPECT_EQ(0, std::memcmp(cold->program.data(), second->program.data(),
                             cold->program.size() * sizeof(struct sock_filter)));
    EXPECT_EQ(cold->flags, second->flags);

    // Exactly one entry; corrupting it makes the next call recompile (and rewrite) it.
    std::string entry;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        entry = e.path();
    ASSERT_FALSE(entry.empty());
    ASSERT_TRUE(berth::write_file_atomic(entry, "garbage"));
    auto third = sc::compile_cached(p, dir);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->program.size(), cold->program.size());
    EXPECT_GT(std::filesystem::file_size(entry), 1000u);

    // A different profile is a different entry, never the cached program.
    p.syscalls.push_back(rule({"reboot"}, "SCMP_ACT_KILL"));
    auto other = sc::compile_cached(p, dir);
    ASSERT_TRUE(other);
    EXPECT_NE(other->program.size(), cold->program.size());

    // The listener fields come from the profile, not the cache.
    p.listener_metadata = "meta";
    auto meta = sc::compile_cached(p, dir);
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->listener_metadata, "meta");
}

TEST(SeccompCache, UnwritableCacheIsNotAnError) {
    auto f = sc::compile_cached(profile("SCMP_ACT_ALLOW", {rule({"mkdir"}, "SCMP_ACT_ERRNO")}),
                                "/proc/self/berth-no-such-dir");
    EXPECT_TRUE(f);
}

// --- features probe ---

TEST(SeccompSupport, ProbeReportsThisKernel) {
    auto s = sc::probe_support();
    ASSERT_TRUE(s.enabled);
    EXPECT_FALSE(s.libseccomp_version.empty());
    auto has = [](const std::vector<std::string>& v, const char* x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    EXPECT_TRUE(has(s.actions, "SCMP_ACT_ERRNO"));
    EXPECT_TRUE(has(s.actions, "SCMP_ACT_NOTIFY"));
    EXPECT_TRUE(has(s.operators, "SCMP_CMP_MASKED_EQ"));
    EXPECT_TRUE(has(s.archs, "SCMP_ARCH_X86_64"));
    EXPECT_EQ(s.operators.size(), 7u);
    EXPECT_TRUE(has(s.known_flags, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
    EXPECT_TRUE(has(s.supported_flags, "SECCOMP_FILTER_FLAG_LOG"));
    for (const auto& f : s.supported_flags)
        EXPECT_TRUE(has(s.known_flags, f.c_str()));
}

// --- NOTIFY: child -> parent -> agent, then the agent answers the child's mkdir ---

namespace {

struct Agent {
    pid_t pid = -1;
    std::string socket, state_out;
};

Agent start_agent(const std::string& dir, int answer_errno) {
    Agent a;
    a.socket = dir + "/agent.sock";
    a.state_out = dir + "/state.json";
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return a;
    a.pid = fork();
    if (a.pid == 0) {
        dup2(p[1], 1);
        std::string e = std::to_string(answer_errno);
        execl(SECCOMP_AGENT, SECCOMP_AGENT, a.socket.c_str(), a.state_out.c_str(), e.c_str(),
              nullptr);
        _exit(127);
    }
    close(p[1]);
    char buf[16] = {};
    ssize_t n = read(p[0], buf, sizeof buf - 1);  // "ready\n" once it listens
    close(p[0]);
    if (n <= 0) a.pid = -1;
    return a;
}

// Returns the child's exit code: the errno of its mkdir (0: "succeeded").
int run_notify_case(const std::string& dir, int answer_errno, std::string* state_json) {
    Agent agent = start_agent(dir, answer_errno);
    if (agent.pid < 0) return -1000;
    Seccomp p = profile("SCMP_ACT_ALLOW", {rule({"mkdir", "mkdirat"}, "SCMP_ACT_NOTIFY")});
    p.listener_path = agent.socket;
    p.listener_metadata = "MKDIR=fake";
    auto f = sc::compile(p);
    if (!f) return -1001;
    int sync[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) return -1002;
    std::string target = dir + "/made-by-child";
    pid_t child = fork();
    if (child == 0) {
        close(sync[0]);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(120);
        auto fd = sc::load(*f);
        if (!fd || !fd->valid()) _exit(121);
        if (!sc::send_fd(sync[1], fd->get())) _exit(122);
        fd->reset();
        int e = errno_of(mkdir(target.c_str(), 0700));
        // The agent must have answered without running the syscall.
        if (e == 0 && berth::path_exists(target)) _exit(123);
        _exit(e);
    }
    close(sync[1]);
    auto listener = sc::receive_fd(sync[0]);
    close(sync[0]);
    if (!listener) return -1003;
    nlohmann::json state = {{"ociVersion", "1.2.0"}, {"id", "unit"},
                            {"status", "creating"},  {"pid", child},
                            {"bundle", dir},         {"annotations", {{"a", "b"}}}};
    auto st =
        sc::send_to_agent(p.listener_path, listener->get(), p.listener_metadata, state, child);
    listener->reset();
    int status = 0;
    waitpid(child, &status, 0);
    int astatus = 0;
    waitpid(agent.pid, &astatus, 0);
    if (!st) return -1004;
    if (exit_code(astatus) != 0) return -1005;
    if (auto s = berth::read_file(agent.state_out)) *state_json = *s;
    return exit_code(status);
}

}  // namespace

TEST(SeccompNotify, AgentAnswersMkdir) {
    TempDir d;
    std::string json;
    EXPECT_EQ(run_notify_case(d.path, 0, &json), 0);
    auto j = nlohmann::json::parse(json, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << json;
    EXPECT_EQ(j["ociVersion"], "1.2.0");
    EXPECT_EQ(j["fds"], nlohmann::json::array({"seccompFd"}));
    EXPECT_EQ(j["metadata"], "MKDIR=fake");
    EXPECT_TRUE(j["pid"].is_number_integer());
    EXPECT_EQ(j["state"]["status"], "creating");
    EXPECT_EQ(j["state"]["pid"], j["pid"]);
    EXPECT_EQ(j["state"]["annotations"]["a"], "b");
}

TEST(SeccompNotify, AgentChoosesErrno) {
    TempDir d;
    std::string json;
    EXPECT_EQ(run_notify_case(d.path, EXDEV, &json), EXDEV);
}

TEST(SeccompNotify, ProcessStateOmitsEmptyMetadata) {
    auto s = sc::process_state_json("", nlohmann::json::object(), 42);
    auto j = nlohmann::json::parse(s);
    EXPECT_FALSE(j.contains("metadata"));
    EXPECT_EQ(j["pid"], 42);
}

TEST(SeccompNotify, MissingAgentIsAnError) {
    auto st =
        sc::send_to_agent("/nonexistent/berth-agent.sock", 0, "", nlohmann::json::object(), 1);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().str().find("send seccomp listener to '/nonexistent/berth-agent.sock'"),
              std::string::npos);
}
