// create, start, run, kill, delete and the read-only views of containers.
#include "runtime/lifecycle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/file.hpp"
#include "base/log.hpp"
#include "base/unix_socket.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/linux/user.hpp"
#include "runtime/process.hpp"
#include "runtime/rootless.hpp"
#include "runtime/sync.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime {

namespace {

Result<std::string> absolute_dir(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return sys_error("bundle '" + path + "'");
    struct stat sb;
    if (::stat(buf, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return Error(ENOTDIR, "bundle '" + path + "'");
    return std::string(buf);
}

Result<UniqueFd> listen_start_socket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    auto addr = TRY(unix_address(path));
    if (::bind(fd.get(), addr.get(), addr.len) < 0) return sys_error("bind '" + path + "'");
    ::chmod(path.c_str(), 0600);
    if (::listen(fd.get(), 1) < 0) return sys_error("listen '" + path + "'");
    return fd;
}

std::string rootfs_path(const spec::Spec& spec, const std::string& bundle) {
    std::string r = spec.root ? spec.root->path : "rootfs";
    if (r.empty() || r[0] != '/') r = bundle + "/" + r;
    return r;
}

Result<spec::Spec> saved_config(const ContainerDir& dir) {
    return spec::load_config(dir.file("config.json"));
}

Status signal_init(const ContainerState& st, int sig) {
    // A pidfd taken and then checked against the saved start time: the signal cannot reach a
    // process that reused the pid after the init exited.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!pidfd) {
        if (errno == ESRCH) return error(ErrorKind::wrong_state, "container not running");
        return sys_error("pidfd_open");
    }
    if (!init_alive(st)) return error(ErrorKind::wrong_state, "container not running");
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0) {
        if (errno == ESRCH) return error(ErrorKind::not_found, "no such process");
        return sys_error("kill");
    }
    return ok();
}

uint64_t ns_inode(pid_t pid, const char* ns) {
    struct stat sb;
    std::string p = "/proc/" + std::to_string(pid) + "/ns/" + ns;
    return ::stat(p.c_str(), &sb) == 0 ? sb.st_ino : 0;
}

pid_t ppid_of(pid_t pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!text) return -1;
    auto p = text->rfind(')');
    if (p == std::string::npos || p + 4 > text->size()) return -1;
    return pid_t(std::atoi(text->c_str() + p + 4));
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        char* end;
        long v = std::strtol(e->d_name, &end, 10);
        if (*end == 0 && v > 0) out.push_back(pid_t(v));
    }
    ::closedir(d);
    return out;
}

// The container cgroup's processes; for state written without a cgroup: every process in the
// init's pid namespace when it has its own, otherwise the init and its descendants.
std::vector<pid_t> pids_of(const ContainerState& st) {
    std::vector<pid_t> out;
    if (!st.cgroup.is_null())
        if (auto m = cgroups::Manager::from_state(st.cgroup))
            if (auto p = m->pids()) return *p;
    if (!init_alive(st)) return out;
    auto pids = all_pids();
    if (st.new_pid_ns) {
        uint64_t ino = ns_inode(st.pid, "pid");
        for (pid_t p : pids)
            if (ino && ns_inode(p, "pid") == ino && pid_start_time(p) != 0) out.push_back(p);
        return out;
    }
    std::set<pid_t> tree{st.pid};
    bool grew = true;
    while (grew) {
        grew = false;
        for (pid_t p : pids)
            if (!tree.count(p) && tree.count(ppid_of(p))) tree.insert(p), grew = true;
    }
    return {tree.begin(), tree.end()};
}

Status wait_gone(const ContainerState& st, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (!init_alive(st)) return ok();
        ::usleep(10000);
    }
    return error("container init " + std::to_string(st.pid) + " did not exit");
}

std::string owner_of(const std::string& path) {
    struct stat sb;
    if (::stat(path.c_str(), &sb) < 0) return "";
    if (auto pw = linux_::passwd_entry(sb.st_uid)) return pw->name;
    return std::to_string(sb.st_uid);
}

// Tears down a stopped container: poststop hooks (failures only warn), then the state.
Status destroy(ContainerDir& dir, const ContainerState& st) {
    if (!st.cgroup.is_null()) {
        auto m = TRY(cgroups::Manager::from_state(st.cgroup));
        TRY_CTX(m.destroy(true), "remove the container's cgroup");
    }
    if (auto cfg = saved_config(dir); cfg && cfg->hooks && !cfg->hooks->poststop.empty()) {
        auto s = linux_::run_hooks(cfg->hooks->poststop, "poststop",
                                   state_json(st, RunStatus::stopped, false));
        if (!s) log::warn(s.error().str());
    }
    return dir.remove();
}

}  // namespace

Result<int> parse_signal(const std::string& s) {
    if (s.empty()) return error("invalid signal ''");
    if (std::all_of(s.begin(), s.end(), ::isdigit)) {
        int n = std::atoi(s.c_str());
        if (n < 0 || n >= NSIG) return error("invalid signal number " + s);
        return n;
    }
    std::string name = s;
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    if (name.starts_with("SIG")) name = name.substr(3);
    for (int n = 1; n < NSIG; ++n) {
        const char* abbrev = ::sigabbrev_np(n);
        if (abbrev && name == abbrev) return n;
    }
    if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) {
        int base = name[2] == 'M' && name[3] == 'I' ? SIGRTMIN : SIGRTMAX;
        if (name.size() == 5) return base;
        int off = std::atoi(name.c_str() + 5);
        int n = base + off;
        if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
    return error("unknown signal \"" + s + "\"");
}

Result<Created> create_container(const CreateOptions& o) {
    TRY(validate_id(o.id));
    std::string bundle = TRY(absolute_dir(o.bundle.empty() ? "." : o.bundle));
    std::string config_text = TRY_CTX(read_file(bundle + "/config.json", 64 << 20), "config.json");
    spec::Spec spec = TRY_CTX(spec::parse_config(config_text), "config.json");
    TRY_CTX(spec::validate(spec), "config.json");
    log::debug("container '" + o.id + "': read " + bundle + "/config.json (ociVersion " +
               spec.oci_version + ", " + std::to_string(config_text.size()) + " bytes)");
    const spec::Process* proc = spec.process ? &*spec.process : nullptr;
    if (proc && proc->terminal && !o.foreground && o.console_socket.empty())
        return error("cannot allocate tty if berth will detach without setting console socket");
    if (!o.console_socket.empty() && (!proc || !proc->terminal))
        return error("cannot use console socket if berth will not detach or allocate tty");
    ProcessPlan plan = TRY(plan_process(spec, bundle, o.id, o.root));
    log::debug("container '" + o.id + "': namespaces: " + linux_::describe(plan.ns));
    plan.no_pivot = o.no_pivot;
    plan.no_new_keyring = o.no_new_keyring;
    plan.extra_fds = o.preserve_fds;
    // systemd socket activation, as runc passes it on: the fds right after stdio, before the
    // --preserve-fds ones, with the environment rewritten for the container's pid.
    if (const char* lp = ::getenv("LISTEN_PID"); lp && std::atoi(lp) == ::getpid()) {
        if (const char* lf = ::getenv("LISTEN_FDS"); lf && std::atoi(lf) > 0) {
            int n = std::atoi(lf);
            plan.env.push_back("LISTEN_FDS=" + std::to_string(n));
            plan.env.push_back("LISTEN_PID=1");
            plan.extra_fds += n;
        }
    }
    for (int i = 0; i < plan.extra_fds; ++i)
        if (::fcntl(3 + i, F_GETFD) < 0)
            return sys_error("--preserve-fds: fd " + std::to_string(3 + i) + " is not open");

    UniqueFd console_parent;
    if (proc->terminal)
        console_parent =
            TRY(linux_::console_channel(o.foreground, o.console_socket, plan.console_socket));

    // Rootless: a cgroup only in a delegated cgroup v2 subtree, never in a v1 hierarchy (on a
    // hybrid host the unified one is used alone: cgroup.freeze and cgroup.kill are core files
    // there). A limit needs one (rootless::check_delegation says why not, naming it); without
    // a limit a cgroupsPath inside a writable subtree gets one (pause, resume, events), and
    // otherwise the container runs without a cgroup, as runc ignores EPERM then.
    std::optional<cgroups::Manager> cg;
    const spec::Resources no_resources;
    const spec::Resources& asked =
        spec.linux_ && spec.linux_->resources ? *spec.linux_->resources : no_resources;
    const auto limit = plan.rootless ? rootless::first_limit(asked) : std::nullopt;
    const std::string cgroups_path = spec.linux_ ? spec.linux_->cgroups_path : "";
    if (!plan.rootless || limit || !cgroups_path.empty()) {
        cg = TRY(cgroups::Manager::create(cgroups_path, o.id, o.systemd_cgroup));
        if (plan.rootless) {
            auto deleg =
                rootless::check_delegation(limit ? *limit : "linux.cgroupsPath", cg->v2_path());
            if (!deleg && limit) return std::move(deleg).error().with_context("config.json");
            if (deleg)
                cg->use_delegated_v2_only();
            else
                cg.reset();
        }
        if (cg) TRY_CTX(cg->check_existing(), "cgroup");
    }
    ContainerDir dir = TRY(ContainerDir::create(o.root, o.id));
    bool cg_made = false;
    auto cleanup = [&](Error e) -> Error {
        if (cg_made) (void)cg->destroy(true);
        (void)dir.remove();
        return e;
    };
    if (cg) {
        if (auto s = cg->make(); !s) return cleanup(std::move(s).error().with_context("cgroup"));
        cg_made = true;
        log::debug("container '" + o.id + "': cgroup " + cg->cgroup_path());
        if (spec.linux_) {
            // The device rules always go in: the spec's, then linux.devices and runc's
            // defaults (a new v1 devices cgroup would otherwise inherit whatever its parent
            // allows).
            spec::Resources res = asked;
            res.devices = cgroups::container_device_rules(*spec.linux_);
            if (auto s = cg->apply(res); !s)
                return cleanup(std::move(s).error().with_context("cgroup"));
        }
        for (const auto& w : cg->warnings())
            log::warn(w);
    }
    if (auto s = write_file_replace(dir.file("config.json"), config_text, 0600); !s)
        return cleanup(std::move(s).error());
    auto listener = listen_start_socket(dir.file("start.sock"));
    if (!listener) return cleanup(std::move(listener).error());
    plan.start_listener = std::move(*listener);
    plan.close_in_child.push_back(dir.lock_fd());

    ContainerState st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = rootfs_path(spec, bundle);
    st.created = log::rfc3339_now();
    st.annotations = spec.annotations;
    st.new_pid_ns = plan.ns.is_new(CLONE_NEWPID);
    st.systemd_cgroup = o.systemd_cgroup;
    if (spec.linux_) st.cgroups_path = spec.linux_->cgroups_path;
    if (cg) st.cgroup = cg->to_state();
    if (spec.linux_ && spec.linux_->resources) {
        spec::Resources saved = *spec.linux_->resources;
        saved.devices.clear();
        st.resources = spec::to_json(saved);
    }

    SpawnCallbacks cb;
    if (cg) cb.place_in_cgroup = [&](pid_t pid) { return cg->add_pid(pid).context("cgroup"); };
    cb.seccomp_listener = [&](int fd, pid_t pid) -> Status {
        ContainerState s = st;
        s.pid = pid;
        auto j = nlohmann::json::parse(state_json(s, RunStatus::creating, false));
        return seccomp::send_to_agent(plan.seccomp->listener_path, fd,
                                      plan.seccomp->listener_metadata, j, pid);
    };
    cb.runtime_hooks = [&](pid_t pid) -> Status {
        if (!spec.hooks) return ok();
        ContainerState s = st;
        s.pid = pid;
        std::string j = state_json(s, RunStatus::creating, false);
        TRY(linux_::run_hooks(spec.hooks->prestart, "prestart", j));
        TRY(linux_::run_hooks(spec.hooks->create_runtime, "createRuntime", j));
        return ok();
    };
    cb.state_json = [&](pid_t pid, const char* status) {
        ContainerState s = st;
        s.pid = pid;
        return state_json(
            s, std::string(status) == "created" ? RunStatus::created : RunStatus::creating, false);
    };
    // CVE-2019-5736 (defence in depth next to the sealed binary): the init, a fork of berth
    // until it execs, is not dumpable, so no process in the container can open its
    // /proc/<pid>/exe, fds or memory. execve resets it for the user's program.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    auto spawned = spawn_init(plan, cb);
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!spawned) return cleanup(std::move(spawned).error());
    Created c;
    c.init = std::move(*spawned);
    const pid_t pid = c.init.pid();
    st.pid = pid;
    st.pid_start_time = pid_start_time(pid);
    log::debug("container '" + o.id + "': init pid " + std::to_string(pid) +
               ", waiting for start on " + dir.file("start.sock"));
    auto fail = [&](Error e) -> Error {
        // Detached, berth exits without waiting: the init's zombie goes to berth's parent.
        if (o.foreground)
            c.init.kill_and_reap();
        else
            (void)c.init.signal(SIGKILL);
        return cleanup(std::move(e));
    };
    if (auto s = dir.save(st); !s) return fail(std::move(s).error());
    if (!o.pid_file.empty()) {
        std::string pf = o.pid_file;
        if (pf[0] != '/') {
            char cwd[PATH_MAX];
            if (::getcwd(cwd, sizeof cwd)) pf = std::string(cwd) + "/" + pf;
        }
        if (auto s = write_file_replace(pf, std::to_string(pid), 0644); !s)
            return fail(std::move(s).error().with_context("--pid-file"));
    }
    if (console_parent) {
        auto m = recv_fd(console_parent.get());
        if (!m) return fail(std::move(m).error().with_context("receive the pty master"));
        c.console = std::move(*m);
    }
    return c;
}

Status start_container(const std::string& root, const std::string& id) {
    ContainerDir dir = TRY(ContainerDir::open(root, id));
    ContainerState st = TRY(dir.load());
    switch (current_status(dir, st)) {
        case RunStatus::stopped:
            return error("cannot start a container that has stopped");
        case RunStatus::running:
        case RunStatus::paused:
            return error(ErrorKind::wrong_state, "cannot start an already running container");
        default:
            break;
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    std::string path = dir.file("start.sock");
    auto addr = TRY(unix_address(path));
    if (::connect(fd.get(), addr.get(), addr.len) < 0)
        return error(ErrorKind::wrong_state, "container not running");
    char go = 's';
    if (::send(fd.get(), &go, 1, MSG_NOSIGNAL) != 1)
        return error(ErrorKind::wrong_state, "container not running");
    log::debug("container '" + id + "': start signal sent to init pid " + std::to_string(st.pid));
    // The init closes the connection by exec (CLOEXEC); anything it writes is its failure.
    // One SEQPACKET record each: a shorter buffer would cut a long one (a startContainer
    // hook's error carries its stdout and stderr).
    std::string msg;
    std::string buf(std::size_t(128) << 10, '\0');
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf.data(), size_t(n));
    }
    ::unlink(path.c_str());
    if (!msg.empty()) return error(msg);
    log::debug("container '" + id + "': init pid " + std::to_string(st.pid) +
               " exec'd the process");
    auto cfg = saved_config(dir);
    if (cfg && cfg->hooks && !cfg->hooks->poststart.empty()) {
        auto s = linux_::run_hooks(cfg->hooks->poststart, "poststart",
                                   state_json(st, RunStatus::running, false));
        if (!s) {
            // As runc: a failed poststart hook stops the container.
            (void)signal_init(st, SIGKILL);
            return std::move(s).error();
        }
    }
    return ok();
}

sigset_t relayed_signals() {
    sigset_t sigs;
    sigfillset(&sigs);
    sigdelset(&sigs, SIGKILL);
    sigdelset(&sigs, SIGSTOP);
    for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS})
        sigdelset(&sigs, s);
    return sigs;
}

Result<int> wait_foreground(pid_t init, UniqueFd console, const sigset_t& sigs) {
    UniqueFd sfd(::signalfd(-1, &sigs, SFD_CLOEXEC));
    if (!sfd) return sys_error("signalfd");
    std::optional<linux_::RawMode> raw;
    bool tty_in = console && ::isatty(0);
    if (tty_in) {
        raw.emplace(0);
        winsize ws;
        if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(console.get(), TIOCSWINSZ, &ws);
    }
    bool stdin_open = bool(console);
    bool master_open = bool(console);
    int exit_code = -1;
    char buf[16384];
    while (exit_code < 0 || master_open) {
        pollfd p[3];
        int n = 0;
        p[n++] = {sfd.get(), POLLIN, 0};
        int master_i = -1, stdin_i = -1;
        if (master_open) master_i = n, p[n++] = {console.get(), POLLIN, 0};
        if (stdin_open) stdin_i = n, p[n++] = {0, POLLIN, 0};
        // Once the init is gone, drain what the terminal still holds, then stop.
        int r = ::poll(p, nfds_t(n), exit_code >= 0 ? 100 : -1);
        if (r < 0 && errno != EINTR) return sys_error("poll");
        if (r == 0) break;
        if (p[0].revents & POLLIN) {
            signalfd_siginfo si;
            if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    int status;
                    pid_t w;
                    while ((w = ::waitpid(-1, &status, WNOHANG)) > 0)
                        if (w == init)
                            exit_code =
                                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                } else if (si.ssi_signo == SIGWINCH) {
                    winsize ws;
                    if (console && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
                        ::ioctl(console.get(), TIOCSWINSZ, &ws);
                } else if (exit_code < 0) {
                    ::kill(init, int(si.ssi_signo));
                }
            }
        }
        if (master_i >= 0 && p[master_i].revents) {
            ssize_t k = ::read(console.get(), buf, sizeof buf);
            if (k <= 0)
                master_open = false;
            else
                (void)write_all(1, std::string_view(buf, size_t(k)));
        }
        if (stdin_i >= 0 && p[stdin_i].revents) {
            ssize_t k = ::read(0, buf, sizeof buf);
            if (k <= 0)
                stdin_open = false;
            else
                (void)write_all(console.get(), std::string_view(buf, size_t(k)));
        }
    }
    log::debug("process " + std::to_string(init) + " exited, status " + std::to_string(exit_code));
    return exit_code < 0 ? 255 : exit_code;
}

Result<int> run_container(const CreateOptions& o, bool detach, bool keep) {
    if (detach) {
        TRY(create_container(o));
        auto s = start_container(o.root, o.id);
        if (!s) {
            (void)delete_container(o.root, o.id, true);
            return std::move(s).error();
        }
        return 0;
    }
    // Signals are blocked from before the clone so none is lost; the children reset the mask.
    sigset_t sigs = relayed_signals(), old;
    ::sigprocmask(SIG_BLOCK, &sigs, &old);
    CreateOptions fo = o;
    fo.foreground = true;
    auto c = create_container(fo);
    if (!c) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        return std::move(c).error();
    }
    auto s = start_container(o.root, o.id);
    Result<int> code = s ? wait_foreground(c->init.pid(), std::move(c->console), sigs)
                         : Result<int>(std::move(s).error());
    // wait_foreground may have reaped the init before failing: the pidfd keeps this SIGKILL
    // from reaching a process that reused its pid.
    if (!code) c->init.kill_and_reap();
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (!keep || !code) {
        auto d = delete_container(o.root, o.id, true);
        if (!d && code) return std::move(d).error();
    }
    return code;
}

Status kill_container(const std::string& root, const std::string& id, int sig, bool all) {
    ContainerDir dir = TRY(ContainerDir::open(root, id, false));
    ContainerState st = TRY(dir.load());
    RunStatus s = current_status(dir, st);
    if (s == RunStatus::stopped) {
        // runc 1.1.5: `kill --all` of a stopped container signals no process and succeeds
        // (engines send `kill -a ID 0` / SIGKILL to whatever may be left); plain kill fails.
        if (all) return ok();
        return error(ErrorKind::wrong_state, "container not running");
    }
    if (all) {
        if (!st.cgroup.is_null()) {
            auto m = TRY(cgroups::Manager::from_state(st.cgroup));
            return m.kill_all(sig);
        }
        for (pid_t p : pids_of(st))
            if (p != st.pid) ::kill(p, sig);
    }
    return signal_init(st, sig);
}

Status delete_container(const std::string& root, const std::string& id, bool force) {
    auto d = ContainerDir::open(root, id);
    if (!d) {
        if (force && d.error().is(ErrorKind::not_found)) {
            // A create killed half-way leaves a directory without state.json: remove it.
            if (validate_id(id)) (void)remove_all(root + "/" + id);
            return ok();
        }
        return std::move(d).error();
    }
    ContainerDir dir = std::move(*d);
    ContainerState st = TRY(dir.load());
    RunStatus s = current_status(dir, st);
    if ((s == RunStatus::running || s == RunStatus::paused) && !force)
        return error(ErrorKind::wrong_state,
                     "cannot delete container " + id + " that is not stopped: " + status_name(s));
    if (s != RunStatus::stopped) {
        if (!st.cgroup.is_null()) {
            // kill_all thaws a paused cgroup first: a frozen process cannot die. A cgroup
            // shared with processes from outside is left to the pid namespace's end, when
            // there is one (runc kills only init then).
            if (auto m = cgroups::Manager::from_state(st.cgroup);
                m && !(m->shared() && st.new_pid_ns))
                (void)m->kill_all(SIGKILL);
        } else if (!st.new_pid_ns) {
            for (pid_t p : pids_of(st))
                if (p != st.pid) ::kill(p, SIGKILL);
        }
        (void)signal_init(st, SIGKILL);
        TRY(wait_gone(st, 10000));
    }
    return destroy(dir, st);
}

Result<StateView> container_state(const std::string& root, const std::string& id) {
    ContainerDir dir = TRY(ContainerDir::open(root, id, false));
    StateView v;
    v.state = TRY(dir.load());
    v.status = current_status(dir, v.state);
    v.owner = owner_of(dir.path());
    return v;
}

std::vector<StateView> list_containers(const std::string& root) {
    std::vector<StateView> out;
    for (const auto& id : list_ids(root))
        if (auto v = container_state(root, id)) out.push_back(std::move(*v));
    return out;
}

Result<std::vector<pid_t>> container_pids(const std::string& root, const std::string& id) {
    ContainerDir dir = TRY(ContainerDir::open(root, id, false));
    ContainerState st = TRY(dir.load());
    // As runc: a stopped container has no processes, which is not an error (`ps` prints
    // only the header, `ps --format json` null).
    if (current_status(dir, st) == RunStatus::stopped) return std::vector<pid_t>{};
    return pids_of(st);
}

}  // namespace berth::runtime
