// Parent and child sides of making the container's init (protocol table in sync.hpp).
#include "runtime/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/file.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/linux/user.hpp"
#include "runtime/rootless.hpp"
#include "runtime/sync.hpp"

namespace berth::runtime {

using namespace linux_;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

namespace {
bool maps_root(const std::vector<spec::IDMapping>& m) {
    return std::any_of(m.begin(), m.end(),
                       [](const spec::IDMapping& e) { return e.container_id == 0 && e.size > 0; });
}
}  // namespace

Status plan_process_fields(ProcessPlan& plan, const spec::Spec& spec, const spec::Process& p,
                           const std::string& field, const std::string& state_root) {
    plan.caps = TRY(plan_capabilities(p, field));
    plan.rlimits = TRY(plan_rlimits(p, field));
    std::optional<spec::Personality> pers;
    if (spec.linux_) pers = spec.linux_->personality;
    plan.attrs = TRY(plan_process_attrs(p, pers, field));
    plan.env = p.env;
    if (spec.linux_ && spec.linux_->seccomp) {
        std::string cache = state_root.empty() ? "" : seccomp::cache_dir();
        plan.seccomp = TRY(cache.empty() ? seccomp::compile(*spec.linux_->seccomp)
                                         : seccomp::compile_cached(*spec.linux_->seccomp, cache));
    }
    return ok();
}

Result<ProcessPlan> plan_process(const spec::Spec& spec, const std::string& bundle,
                                 const std::string& id, const std::string& state_root) {
    if (!spec.process) return error("config.json: process: required to run a container");
    const auto& p = *spec.process;
    if (p.args.empty()) return error("config.json: process.args: must not be empty");
    if (!p.cwd.empty() && p.cwd[0] != '/')
        return error("config.json: process.cwd: must be an absolute path, got '" + p.cwd + "'");
    ProcessPlan plan;
    plan.spec = &spec;
    plan.process = &p;
    plan.id = id;
    plan.ns = TRY(plan_namespaces(spec));
    plan.rootless = rootless::enabled();
    if (!plan.ns.has(CLONE_NEWNS))
        return error("config.json: linux.namespaces: berth needs a mount namespace for the rootfs");
    if (!spec.hostname.empty() && !plan.ns.is_new(CLONE_NEWUTS))
        return error("config.json: hostname: needs a new uts namespace");
    if (!spec.domainname.empty() && !plan.ns.is_new(CLONE_NEWUTS))
        return error("config.json: domainname: needs a new uts namespace");
    if (plan.ns.has(CLONE_NEWUSER))
        plan.root_in_userns = plan.ns.joins_user() || maps_root(spec.linux_->uid_mappings);
    // A joined mount namespace gets the bundle's rootfs set up inside it, as runc and crun do:
    // the process runs from the bundle, and the mounts stay in that namespace.
    if (plan.ns.has(CLONE_NEWNS)) plan.rootfs = TRY(plan_rootfs(spec, bundle));
    // In a user namespace the container's root cannot reach a source under a directory only
    // host root may enter: the parent, still privileged on the host, opens the bind sources
    // (runc does the same). Rootless, the parent has no more privilege than the child.
    if (plan.rootfs && plan.ns.has(CLONE_NEWUSER) && !plan.rootless)
        TRY(open_bind_sources(*plan.rootfs));
    TRY(plan_process_fields(plan, spec, p, "config.json: process", state_root));
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

void join_session_keyring(const std::string& id, int sync_fd) {
    // A keyring of the container's own, never the caller's session keyring (runc's name).
    std::string name = "_ses." + id;
    if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS)
        child_fail(sync_fd, sys_error("join session keyring"));
}

// The process's stdio, when it is its own pipe, socket or a terminal of the container's
// devpts, is handed to its uid before the switch (runc's fixStdioPermissions), so that a
// non-root process can reopen it (`echo x > /dev/stdout` opens /proc/self/fd/1 anew, which
// checks the inode's mode). Only the uid changes: the group stays the devpts mount's tty
// group. Never /dev/null, other devices, a regular file or the caller's own terminal (runc
// chowns those too): they are shared with the host, and a chown would change them for
// everyone. A failure (the owner not mapped in the user namespace, a read-only /dev) leaves
// the fd as it is, as runc does.
void give_stdio_to(uid_t uid) {
    struct stat pts;
    bool have_pts = ::stat("/dev/pts/ptmx", &pts) == 0;
    for (int fd = 0; fd < 3; ++fd) {
        struct stat sb;
        if (::fstat(fd, &sb) < 0 || sb.st_uid == uid) continue;
        bool own = S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) ||
                   (S_ISCHR(sb.st_mode) && have_pts && sb.st_dev == pts.st_dev && ::isatty(fd));
        if (own) (void)::fchown(fd, uid, gid_t(-1));
    }
}

// What the process is executed with, worked out by prepare_process.
struct Prepared {
    std::string exe;
    std::vector<std::string> env;
    std::vector<char*> argv, envp;  // point into exe/env and the plan's args
};

// The tail init and an exec'd process share, run once "/" is the container's root: only the
// `keep` fds survive, the cwd is set inside the container, then rlimits, attributes, LSM
// labels, seccomp, bounding set, user and capabilities in the order the kernel needs.
Prepared prepare_process(ProcessPlan& plan, int sync_fd, std::vector<int> keep, bool make_cwd) {
    const spec::Process& proc = *plan.process;
    // CVE-2024-21626: from here on no fd of the host survives (not even CLOEXEC ones, which
    // a chdir to /proc/self/fd/N could still use), and the cwd is set inside the container.
    close_fds_except(std::move(keep));
    std::string cwd = proc.cwd.empty() ? "/" : proc.cwd;
    // As runc, init makes a missing cwd; "/" is the container's root by now, so this cannot
    // reach the host (and a /proc/self/fd/N path fails: those fds are closed).
    if (make_cwd) (void)mkdir_p(cwd, 0755);
    if (::chdir(cwd.c_str()) < 0) child_fail(sync_fd, sys_error("chdir to cwd (\"" + cwd + "\")"));
    // The kernel prefixes a directory outside the root with "(unreachable)".
    char buf[4096];
    if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
        child_fail(sync_fd, error("cwd \"" + cwd + "\" is outside the container's root"));

    Prepared out;
    out.env = plan.env;
    add_home(out.env, proc.user.uid);

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
    give_stdio_to(proc.user.uid);
    CHILD_TRY(apply_user(proc.user, plan.caps.has_value()));
    if (plan.caps) CHILD_TRY(apply_capabilities(*plan.caps));
    if (proc.no_new_privileges) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            child_fail(sync_fd, sys_error("set no_new_privs"));
        load_seccomp();
    }
    // Looked up as the process's user, with its capabilities, as runc does: a permission
    // error is the user's, not root's.
    auto exe = find_executable(proc.args[0], out.env);
    if (!exe) child_fail(sync_fd, std::move(exe).error());
    out.exe = std::move(*exe);

    for (const auto& a : proc.args)
        out.argv.push_back(const_cast<char*>(a.c_str()));
    out.argv.push_back(nullptr);
    for (const auto& e : out.env)
        out.envp.push_back(const_cast<char*>(e.c_str()));
    out.envp.push_back(nullptr);
    return out;
}

std::vector<int> stdio_and(std::initializer_list<int> fds, int extra_fds) {
    std::vector<int> keep = {0, 1, 2};
    keep.insert(keep.end(), fds.begin(), fds.end());
    for (int i = 0; i < extra_fds; ++i)
        keep.push_back(3 + i);
    return keep;
}

[[noreturn]] void init_main(ProcessPlan& plan, int sync_fd) {
    const spec::Spec& spec = *plan.spec;
    const spec::Process& proc = *plan.process;
    // The init dies with the berth that creates it until it reports ready: a create that is
    // interrupted leaves no orphan behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::setsid() < 0) child_fail(sync_fd, sys_error("setsid"));
    CHILD_TRY(apply_initial_affinity(plan.attrs));

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
    if (!plan.no_new_keyring) join_session_keyring(plan.id, sync_fd);

    // The terminal comes from the container's own /dev/ptmx once "/" is its root, as runc
    // makes it: `tty` says /dev/pts/0, and the slave has the container devpts's gid and mode
    // (a pty of the host's devpts would be invisible in /dev/pts and owned by host root).
    UniqueFd slave;
    auto make_terminal = [&](bool console) -> Status {
        if (!proc.terminal) return ok();
        auto p = TRY_CTX(open_pty(proc.console_size), "allocate terminal");
        TRY(send_fd(plan.console_socket.get(), p.master.get()));
        p.master.reset();
        plan.console_socket.reset();
        if (console) TRY(bind_console(p.slave.get()));
        slave = std::move(p.slave);
        return ok();
    };
    if (plan.rootfs) {
        RootfsContext ctx;
        ctx.no_pivot = plan.no_pivot;
        ctx.console = proc.terminal;
        // Rootless without a new user namespace (rootless podman runs its runtime as root of
        // its own) is as unprivileged over devices and locked mounts as a container user
        // namespace: nodes are bound from the host, locked flags kept.
        ctx.in_user_namespace = plan.ns.has(CLONE_NEWUSER) || plan.rootless;
        ctx.new_cgroup_namespace = plan.ns.is_new(CLONE_NEWCGROUP);
        ctx.before_pivot = create_hooks;
        ctx.after_pivot = make_terminal;
        auto st = setup_rootfs(*plan.rootfs, ctx);
        if (!st)
            child_fail(sync_fd, std::move(st).error().with_context("set up the root filesystem"));
    } else {
        CHILD_TRY(make_terminal(false));
    }
    if (slave) {
        CHILD_TRY(attach_terminal(slave.get()));
        slave.reset();
    }

    Prepared x = prepare_process(
        plan, sync_fd, stdio_and({sync_fd, plan.start_listener.get()}, plan.extra_fds), true);

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
    ::execve(x.exe.c_str(), x.argv.data(), x.envp.data());
    report(exec_failure(x.exe, errno));
    ::_exit(127);
}

// berth exec's process: a child of stage1 after it joined every namespace of the container
// (so it is in the container's pid and time namespaces), and of the berth parent thanks to
// CLONE_PARENT, so that a foreground exec waits for it directly.
[[noreturn]] void exec_main(ProcessPlan& plan, int sync_fd) {
    const spec::Process& proc = *plan.process;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A session of its own, as init: a terminal becomes its controlling terminal, and the
    // caller's job control signals reach it only through berth.
    if (::setsid() < 0) child_fail(sync_fd, sys_error("setsid"));
    CHILD_TRY(apply_initial_affinity(plan.attrs));
    // setns into the mount namespace made "/" and the cwd that namespace's root. It must be
    // the init's root, or the process would run outside the container's filesystem.
    struct stat sb;
    if (::stat("/", &sb) < 0 || sb.st_dev != plan.exec_root->first ||
        sb.st_ino != plan.exec_root->second)
        child_fail(sync_fd, error("the root of the container's mount namespace is not the "
                                  "container's root"));
    if (!plan.no_new_keyring) join_session_keyring(plan.id, sync_fd);

    if (proc.terminal) {
        // The pty comes from the container's devpts (its /dev/ptmx), so the slave is a
        // /dev/pts entry the process can see; TIOCGPTPEER fails on anything but a pty master.
        auto p = open_pty(proc.console_size);
        if (!p) child_fail(sync_fd, std::move(p).error().with_context("allocate terminal"));
        CHILD_TRY(send_fd(plan.console_socket.get(), p->master.get()));
        p->master.reset();
        plan.console_socket.reset();
        CHILD_TRY(attach_terminal(p->slave.get()));
        p->slave.reset();
    }

    Prepared x = prepare_process(plan, sync_fd, stdio_and({sync_fd}, plan.extra_fds), false);
    // runc's exec (not its init) asks eaccess(2) first, and engines see its words.
    if (::faccessat(AT_FDCWD, x.exe.c_str(), X_OK, AT_EACCESS) < 0)
        child_fail(sync_fd, error("eaccess " + x.exe + ": " + go_errno_text(errno)));
    // The process outlives a detached berth.
    ::prctl(PR_SET_PDEATHSIG, 0);
    // kReady, then execve closes the (CLOEXEC) sync socket: the parent reads EOF. A failed
    // execve is reported after kReady, so the parent can tell the two apart.
    CHILD_TRY(sync_send(sync_fd, SyncType::kReady));
    ::execve(x.exe.c_str(), x.argv.data(), x.envp.data());
    child_fail(sync_fd, error(exec_failure(x.exe, errno)));
}

// The first steps of berth's first child (stage1, or the init on the direct path): default
// signals, death with the parent, no fd of the caller's, then wait until the parent has put
// it in the container's cgroup.
void first_child_start(ProcessPlan& plan, int sync_fd) {
    reset_signals();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int fd : plan.close_in_child)
        ::close(fd);
    close_inherited_fds(3 + plan.extra_fds);
    auto go = sync_expect(sync_fd, SyncType::kProceed);
    if (!go) child_fail(sync_fd, std::move(go).error());
}

[[noreturn]] void stage1_main(ProcessPlan& plan, int sync_fd) {
    first_child_start(plan, sync_fd);
    // Without CAP_SYS_RESOURCE the score can only be raised: a lower one is left as inherited
    // (runc's rootless behaviour), a higher one is applied.
    // stage1 is dumpable for the write (the file of a non-dumpable process is root's); it is
    // still in the caller's namespaces, so nothing of the container can use the window.
    if (plan.rootless && plan.process->oom_score_adj) {
        ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        (void)write_file("/proc/self/oom_score_adj", std::to_string(*plan.process->oom_score_adj));
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    CHILD_TRY(apply_namespaces(plan.ns));
    // Rootless: the parent has no privilege over a non-dumpable process's /proc files, so
    // stage1 is dumpable only while its id maps are written (runc does the same).
    const bool open_for_maps = plan.rootless && plan.ns.is_new(CLONE_NEWUSER);
    if (open_for_maps) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    CHILD_TRY(sync_send(sync_fd, SyncType::kNamespacesReady));
    auto mapped = sync_expect(sync_fd, SyncType::kMapsWritten);
    if (!mapped) child_fail(sync_fd, std::move(mapped).error());
    if (open_for_maps) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // Become root of the user namespace (when root is mapped) so that the process has the
    // namespace's full capabilities until it changes to process.user.
    if (plan.root_in_userns && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
        child_fail(sync_fd, sys_error("become root in the user namespace"));
    // CLONE_PARENT: the process is the child of the berth parent (which can wait for it in
    // `run` and a foreground `exec`), and, with a new pid namespace or a joined one, it is in
    // that namespace (init as its first process).
    // stage1 and its child write to the same socket, and the parent must read kInitPid before
    // anything the child says: the child waits for EOF on this pipe, which stage1's exit gives
    // it. (Without the gate a fast init's kRuntimeHooks overtook kInitPid now and then.)
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) < 0) child_fail(sync_fd, sys_error("pipe"));
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) child_fail(sync_fd, sys_error(plan.exec_root ? "clone" : "clone init"));
    if (pid == 0) {
        ::close(gate[1]);
        char c;
        while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::close(gate[0]);
        if (plan.exec_root) exec_main(plan, sync_fd);
        init_main(plan, sync_fd);
    }
    (void)sync_send(sync_fd, SyncType::kInitPid, pid);
    ::_exit(0);
}

// The direct path (direct_clone_flags): the init was cloned by the parent with its new
// namespaces. It joins the namespaces given by path (none of them a pid, user or time
// namespace) and makes a new cgroup namespace only now, after the parent placed it in the
// container's cgroup, so that the namespace's root is that cgroup.
[[noreturn]] void direct_init_main(ProcessPlan& plan, int sync_fd) {
    first_child_start(plan, sync_fd);
    CHILD_TRY(apply_namespaces(plan.ns, plan.ns.unshare_flags & CLONE_NEWCGROUP));
    init_main(plan, sync_fd);
}

// ---- parent side ------------------------------------------------------------------------

// The clone flags that make the init in one step, without stage1, or 0 when stage1 is
// needed: a user namespace (the parent writes its maps between unshare and the init's
// birth), a time namespace (its offsets must be written before its first process exists),
// a joined pid namespace (only a child of the joining process enters it), and rootless (the
// user namespace again). The cgroup namespace is made by the init itself after the parent
// placed it (direct_init_main).
int direct_clone_flags(const ProcessPlan& plan) {
    if (plan.exec_root || plan.rootless) return 0;
    if (plan.ns.has(CLONE_NEWUSER) || plan.ns.has(CLONE_NEWTIME)) return 0;
    for (const auto& j : plan.ns.joins)
        if (j.flag == CLONE_NEWPID) return 0;
    return plan.ns.unshare_flags & ~CLONE_NEWCGROUP;
}

// stage1's part, the same for init and exec: cgroup, namespaces, id maps, the process's pid.
// stage1 and the process are held by pidfds (ChildProcess): once stage1 is reaped here, a
// failure later on must not signal its pid, which another process may have by then.
Status drive_stage1(ProcessPlan& plan, const SpawnCallbacks& cb, int fd, ChildProcess& stage1_p,
                    ChildProcess& child) {
    // The first child: stage1, or on the direct path the init itself (already in its
    // namespaces), which needs nothing after kProceed.
    const pid_t first = stage1_p ? stage1_p.pid() : child.pid();
    // Rootless, stage1 sets its own score (a non-dumpable process's /proc files are not ours).
    if (plan.process->oom_score_adj && !plan.rootless)
        TRY_CTX(write_file("/proc/" + std::to_string(first) + "/oom_score_adj",
                           std::to_string(*plan.process->oom_score_adj)),
                "set process.oomScoreAdj");
    if (cb.place_in_cgroup) TRY(cb.place_in_cgroup(first));
    TRY(sync_send(fd, SyncType::kProceed));
    if (!stage1_p) return ok();
    const pid_t stage1 = first;
    const spec::Spec& spec = *plan.spec;
    TRY(sync_expect(fd, SyncType::kNamespacesReady));
    if (plan.ns.is_new(CLONE_NEWUSER)) TRY(write_id_maps(stage1, spec, plan.rootless));
    if (plan.ns.is_new(CLONE_NEWTIME)) TRY(write_time_offsets(stage1, spec));
    TRY(sync_send(fd, SyncType::kMapsWritten));
    auto m = TRY(sync_expect(fd, SyncType::kInitPid));
    // The process is berth's child (CLONE_PARENT) and nothing here has waited for it, so the
    // pid is still its own.
    child = ChildProcess::adopt(pid_t(m.value));
    TRY_CTX(stage1_p.wait(), "stage1");
    return ok();
}

// A kSeccompListener message: the fd follows; hand it to the agent.
Status pass_listener(const SpawnCallbacks& cb, int fd, pid_t pid) {
    UniqueFd listener = TRY(seccomp::receive_fd(fd));
    if (cb.seccomp_listener) TRY(cb.seccomp_listener(listener.get(), pid));
    return ok();
}

Status drive(ProcessPlan& plan, const SpawnCallbacks& cb, int fd, ChildProcess& stage1,
             ChildProcess& init_p) {
    TRY(drive_stage1(plan, cb, fd, stage1, init_p));
    const pid_t init = init_p.pid();
    TRY(sync_expect(fd, SyncType::kRuntimeHooks));
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
        TRY(pass_listener(cb, fd, init));
    }
    return ok();
}

// exec: after stage1, the process reports kReady and execs; EOF on the socket (CLOEXEC) after
// kReady means execve succeeded, a kError means it (or the set-up) failed.
Status drive_exec(ProcessPlan& plan, const SpawnCallbacks& cb, int fd, ChildProcess& stage1,
                  ChildProcess& proc) {
    TRY(drive_stage1(plan, cb, fd, stage1, proc));
    const pid_t pid = proc.pid();
    bool ready = false;
    for (;;) {
        auto msg = TRY(sync_recv_or_eof(fd));
        if (!msg) {
            if (ready) return ok();
            return error("the process died while berth was setting it up");
        }
        if (msg->type == SyncType::kError) return Error(int(msg->value), msg->payload);
        if (msg->type == SyncType::kReady && !ready) {
            ready = true;
            continue;
        }
        if (msg->type != SyncType::kSeccompListener || ready)
            return error(std::string("sync: unexpected ") + sync_name(msg->type));
        TRY(pass_listener(cb, fd, pid));
    }
}

using Driver = Status (*)(ProcessPlan&, const SpawnCallbacks&, int, ChildProcess&, ChildProcess&);

Result<ChildProcess> spawn(ProcessPlan& plan, const SpawnCallbacks& cb, Driver driver) {
    auto [parent_end, child_end] = TRY(sync_pair());
    ChildProcess stage1, child;
    if (int flags = direct_clone_flags(plan)) {
        long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
        if (pid < 0) return sys_error("clone init");
        if (pid == 0) {
            parent_end.reset();
            direct_init_main(plan, child_end.get());
        }
        child = ChildProcess::adopt(pid_t(pid));
    } else {
        pid_t pid = ::fork();
        if (pid < 0) return sys_error("fork");
        if (pid == 0) {
            parent_end.reset();
            stage1_main(plan, child_end.get());
        }
        stage1 = ChildProcess::adopt(pid);
    }
    child_end.reset();
    auto st = driver(plan, cb, parent_end.get(), stage1, child);
    if (!st) {
        // Each is signalled through its pidfd, and stage1 not at all once drive_stage1 has
        // reaped it: its pid may belong to an unrelated process by now.
        child.kill_and_reap();
        stage1.kill_and_reap();
        return std::move(st).error();
    }
    return child;
}

}  // namespace

Result<ChildProcess> spawn_init(ProcessPlan& plan, const SpawnCallbacks& cb) {
    return spawn(plan, cb, drive);
}

Result<ChildProcess> spawn_exec(ProcessPlan& plan, const SpawnCallbacks& cb) {
    if (!plan.exec_root) return error("spawn_exec: no container root to check against");
    return spawn(plan, cb, drive_exec);
}

}  // namespace berth::runtime
