// Parent and child sides of making the container's init (protocol table in sync.hpp).
#include "runtime/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/file.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/linux/user.hpp"
#include "runtime/sync.hpp"

namespace berth::runtime {

using namespace linux_;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

Result<ProcessPlan> plan_process(const spec::Spec& spec, const std::string& bundle,
                                 const std::string& id, const std::string& state_root) {
    if (!spec.process) return error("config.json: process: required to run a container");
    const auto& p = *spec.process;
    if (p.args.empty()) return error("config.json: process.args: must not be empty");
    if (!p.cwd.empty() && p.cwd[0] != '/')
        return error("config.json: process.cwd: must be an absolute path, got '" + p.cwd + "'");
    ProcessPlan plan;
    plan.spec = &spec;
    plan.id = id;
    plan.ns = TRY(plan_namespaces(spec));
    if (!plan.ns.has(CLONE_NEWNS))
        return error("config.json: linux.namespaces: berth needs a mount namespace for the rootfs");
    if (!spec.hostname.empty() && !plan.ns.is_new(CLONE_NEWUTS))
        return error("config.json: hostname: needs a new uts namespace");
    if (!spec.domainname.empty() && !plan.ns.is_new(CLONE_NEWUTS))
        return error("config.json: domainname: needs a new uts namespace");
    if (plan.ns.is_new(CLONE_NEWNS)) plan.rootfs = TRY(plan_rootfs(spec, bundle));
    plan.caps = TRY(plan_capabilities(p, "process"));
    plan.rlimits = TRY(plan_rlimits(p, "process"));
    std::optional<spec::Personality> pers;
    if (spec.linux_) pers = spec.linux_->personality;
    plan.attrs = TRY(plan_process_attrs(p, pers, "process"));
    plan.env = p.env;
    if (spec.linux_ && spec.linux_->seccomp)
        plan.seccomp =
            TRY(state_root.empty() ? seccomp::compile(*spec.linux_->seccomp)
                                   : seccomp::compile_cached(*spec.linux_->seccomp,
                                                             seccomp::cache_dir(state_root)));
    return plan;
}

namespace {

// ---- child side -------------------------------------------------------------------------

[[noreturn]] void child_fail(int sync_fd, const Error& e) {
    (void)sync_send(sync_fd, SyncType::kError, e.code(), e.message());
    ::_exit(1);
}

#define CHILD_TRY(expr)                                             \
    do {                                                            \
        auto _st = (expr);                                          \
        if (!_st.ok()) child_fail(sync_fd, std::move(_st).error()); \
    } while (0)

void reset_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
}

// Closes every fd not in keep (sorted), with close_range over the gaps.
void close_fds_except(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned lo = 0;
    for (int k : keep) {
        if (k < 0) continue;
        if (unsigned(k) > lo) ::syscall(SYS_close_range, lo, unsigned(k) - 1, 0);
        lo = unsigned(k) + 1;
    }
    ::syscall(SYS_close_range, lo, ~0U, 0);
}

// fds the caller of berth passed down without CLOEXEC (a shell's extra fds, bats' fd 3) must
// not outlive create unless asked for with --preserve-fds / LISTEN_FDS.
void close_inherited_fds(int first_free) {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return;
    std::vector<int> fds;
    while (auto* e = ::readdir(d)) {
        int fd = std::atoi(e->d_name);
        if (fd >= first_free && fd != ::dirfd(d)) fds.push_back(fd);
    }
    ::closedir(d);
    for (int fd : fds) {
        int fl = ::fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) ::close(fd);
    }
}

bool maps_root(const std::vector<spec::IDMapping>& m) {
    return std::any_of(m.begin(), m.end(),
                       [](const spec::IDMapping& e) { return e.container_id == 0 && e.size > 0; });
}

[[noreturn]] void init_main(ProcessPlan& plan, int sync_fd) {
    const spec::Spec& spec = *plan.spec;
    const spec::Process& proc = *spec.process;
    // The init dies with the berth that creates it until it reports ready: a create that is
    // interrupted leaves no orphan behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::setsid() < 0) child_fail(sync_fd, sys_error("setsid"));
    CHILD_TRY(apply_initial_affinity(plan.attrs));

    std::optional<Pty> pty;
    if (proc.terminal) {
        auto p = open_pty(proc.console_size);
        if (!p) child_fail(sync_fd, std::move(p).error().with_context("allocate terminal"));
        pty = std::move(*p);
        CHILD_TRY(send_fd(plan.console_socket.get(), pty->master.get()));
        pty->master.reset();
        plan.console_socket.reset();
    }

    CHILD_TRY(sync_send(sync_fd, SyncType::kRuntimeHooks));
    auto done = sync_expect(sync_fd, SyncType::kHooksDone);
    if (!done) child_fail(sync_fd, std::move(done).error());
    std::string create_state = done->payload.substr(0, done->payload.find('\0'));
    std::string start_state = done->payload.substr(done->payload.find('\0') + 1);

    // createContainer hooks: after the mounts, before pivot_root (the rootfs code calls
    // back); without a rootfs of our own, here.
    auto create_hooks = [&]() -> Status {
        if (!spec.hooks) return ok();
        return run_hooks(spec.hooks->create_container, "createContainer", create_state);
    };
    if (!plan.rootfs) CHILD_TRY(create_hooks());

    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        child_fail(sync_fd, sys_error("set hostname '" + spec.hostname + "'"));
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        child_fail(sync_fd, sys_error("set domainname '" + spec.domainname + "'"));
    if (!plan.no_new_keyring) {
        std::string name = "_ses." + plan.id;
        if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS)
            child_fail(sync_fd, sys_error("join session keyring"));
    }

    if (plan.rootfs) {
        RootfsContext ctx;
        ctx.no_pivot = plan.no_pivot;
        ctx.console_slave_fd = pty ? pty->slave.get() : -1;
        ctx.in_user_namespace = plan.ns.has(CLONE_NEWUSER);
        ctx.new_cgroup_namespace = plan.ns.is_new(CLONE_NEWCGROUP);
        ctx.before_pivot = create_hooks;
        auto st = setup_rootfs(*plan.rootfs, spec, ctx);
        if (!st)
            child_fail(sync_fd, std::move(st).error().with_context("set up the root filesystem"));
    }
    if (pty) {
        CHILD_TRY(attach_terminal(pty->slave.get()));
        pty->slave.reset();
    }

    // CVE-2024-21626: from here on no fd of the host survives (not even CLOEXEC ones, which
    // a chdir to /proc/self/fd/N could still use), and the cwd is set inside the container.
    std::vector<int> keep = {0, 1, 2, sync_fd, plan.start_listener.get()};
    for (int i = 0; i < plan.extra_fds; ++i)
        keep.push_back(3 + i);
    close_fds_except(keep);
    std::string cwd = proc.cwd.empty() ? "/" : proc.cwd;
    // As runc, a missing cwd is made; "/" is the container's root by now, so this cannot
    // reach the host (and a /proc/self/fd/N path fails: those fds are closed).
    (void)mkdir_p(cwd, 0755);
    if (::chdir(cwd.c_str()) < 0) child_fail(sync_fd, sys_error("chdir to cwd (\"" + cwd + "\")"));
    char buf[4096];
    if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
        child_fail(sync_fd, error("cwd \"" + cwd + "\" is outside the container's root"));

    std::vector<std::string> env = plan.env;
    add_home(env, proc.user.uid);
    auto exe = find_executable(proc.args[0], env);
    if (!exe) child_fail(sync_fd, std::move(exe).error());

    CHILD_TRY(apply_rlimits(plan.rlimits));
    CHILD_TRY(apply_process_attrs(plan.attrs));
    CHILD_TRY(apply_lsm_labels(plan.attrs));
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the
    // capabilities go (runc's order); with it, load it last so the fewest syscalls run under it.
    auto load_seccomp = [&] {
        if (!plan.seccomp) return;
        auto l = seccomp::load(*plan.seccomp);
        if (!l) child_fail(sync_fd, std::move(l).error().with_context("load seccomp filter"));
        if (l->valid()) {
            CHILD_TRY(sync_send(sync_fd, SyncType::kSeccompListener));
            CHILD_TRY(seccomp::send_fd(sync_fd, l->get()));
            l->reset();
        }
    };
    if (!proc.no_new_privileges) load_seccomp();
    if (plan.caps) CHILD_TRY(drop_bounding(*plan.caps));
    CHILD_TRY(apply_user(proc.user, plan.caps.has_value()));
    if (plan.caps) CHILD_TRY(apply_capabilities(*plan.caps));
    if (proc.no_new_privileges) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            child_fail(sync_fd, sys_error("set no_new_privs"));
        load_seccomp();
    }

    std::vector<char*> argv, envp;
    for (const auto& a : proc.args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    // Past this point the init outlives the berth that made it.
    ::prctl(PR_SET_PDEATHSIG, 0);
    CHILD_TRY(sync_send(sync_fd, SyncType::kReady));
    ::close(sync_fd);

    int listener = plan.start_listener.get();
    int conn;
    do {
        conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    } while (conn < 0 && errno == EINTR);
    if (conn < 0) ::_exit(126);
    ::close(listener);
    char c;
    if (::read(conn, &c, 1) != 1) ::_exit(126);
    auto report = [&](const std::string& msg) {
        (void)write_all(conn, msg);
        ::_exit(127);
    };
    if (spec.hooks) {
        auto st = run_hooks(spec.hooks->start_container, "startContainer", start_state);
        if (!st) report(st.error().str());
    }
    ::execve(exe->c_str(), argv.data(), envp.data());
    report(sys_error("exec \"" + proc.args[0] + "\"").str());
    ::_exit(127);
}

[[noreturn]] void stage1_main(ProcessPlan& plan, int sync_fd) {
    reset_signals();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int fd : plan.close_in_child)
        ::close(fd);
    close_inherited_fds(3 + plan.extra_fds);
    auto go = sync_expect(sync_fd, SyncType::kProceed);
    if (!go) child_fail(sync_fd, std::move(go).error());
    CHILD_TRY(apply_namespaces(plan.ns));
    CHILD_TRY(sync_send(sync_fd, SyncType::kNamespacesReady));
    auto mapped = sync_expect(sync_fd, SyncType::kMapsWritten);
    if (!mapped) child_fail(sync_fd, std::move(mapped).error());
    if (plan.ns.has(CLONE_NEWUSER)) {
        // Become root of the user namespace (when root is mapped) so that init has the
        // namespace's full capabilities until it changes to process.user.
        bool root = plan.ns.joins_user() || maps_root(plan.spec->linux_->uid_mappings);
        if (root && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
            child_fail(sync_fd, sys_error("become root in the user namespace"));
    }
    // CLONE_PARENT: init is the child of the berth parent (which can wait for it in `run`),
    // and, with a new pid namespace or a joined one, it is the first process in it.
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) child_fail(sync_fd, sys_error("clone init"));
    if (pid == 0) init_main(plan, sync_fd);
    (void)sync_send(sync_fd, SyncType::kInitPid, pid);
    ::_exit(0);
}

// ---- parent side ------------------------------------------------------------------------

void kill_and_reap(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

Status drive(ProcessPlan& plan, const SpawnCallbacks& cb, int fd, pid_t stage1, pid_t& init) {
    const spec::Spec& spec = *plan.spec;
    if (spec.process->oom_score_adj)
        TRY_CTX(write_file("/proc/" + std::to_string(stage1) + "/oom_score_adj",
                           std::to_string(*spec.process->oom_score_adj)),
                "set process.oomScoreAdj");
    if (cb.place_in_cgroup) TRY(cb.place_in_cgroup(stage1));
    TRY(sync_send(fd, SyncType::kProceed));
    TRY(sync_expect(fd, SyncType::kNamespacesReady));
    if (plan.ns.is_new(CLONE_NEWUSER)) TRY(write_id_maps(stage1, spec));
    if (plan.ns.is_new(CLONE_NEWTIME)) TRY(write_time_offsets(stage1, spec));
    TRY(sync_send(fd, SyncType::kMapsWritten));
    // stage1 sends init's pid only after clone returns, and init may already have run as far
    // as kRuntimeHooks by then: the two can arrive in either order.
    auto m = TRY(sync_recv(fd));
    const bool hooks_first = m.type == SyncType::kRuntimeHooks;
    if (hooks_first) m = TRY(sync_recv(fd));
    if (m.type == SyncType::kError) return Error(int(m.value), m.payload);
    if (m.type != SyncType::kInitPid)
        return error(std::string("sync: expected init-pid, got ") + sync_name(m.type));
    init = pid_t(m.value);
    int status;
    while (::waitpid(stage1, &status, 0) < 0)
        if (errno != EINTR) return sys_error("wait for stage1");
    if (!hooks_first) TRY(sync_expect(fd, SyncType::kRuntimeHooks));
    if (cb.runtime_hooks) TRY(cb.runtime_hooks(init));
    std::string states =
        cb.state_json ? cb.state_json(init, "creating") + '\0' + cb.state_json(init, "created")
                      : std::string(1, '\0');
    TRY(sync_send(fd, SyncType::kHooksDone, 0, states));
    for (;;) {
        auto msg = TRY(sync_recv(fd));
        if (msg.type == SyncType::kError) return Error(int(msg.value), msg.payload);
        if (msg.type == SyncType::kReady) break;
        if (msg.type != SyncType::kSeccompListener)
            return error(std::string("sync: unexpected ") + sync_name(msg.type));
        UniqueFd listener = TRY(seccomp::receive_fd(fd));
        if (cb.seccomp_listener) TRY(cb.seccomp_listener(listener.get(), init));
    }
    return ok();
}

}  // namespace

Result<pid_t> spawn_init(ProcessPlan& plan, const SpawnCallbacks& cb) {
    auto [parent_end, child_end] = TRY(sync_pair());
    pid_t stage1 = ::fork();
    if (stage1 < 0) return sys_error("fork");
    if (stage1 == 0) {
        parent_end.reset();
        stage1_main(plan, child_end.get());
    }
    child_end.reset();
    pid_t init = 0;
    auto st = drive(plan, cb, parent_end.get(), stage1, init);
    if (!st) {
        kill_and_reap(init);
        // stage1 may already be reaped (then this is a harmless ECHILD).
        kill_and_reap(stage1);
        return std::move(st).error();
    }
    return init;
}

}  // namespace berth::runtime
