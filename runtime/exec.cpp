// berth exec: builds the process (config.json's or --process, with runc's overrides), plans it
// against the running init (its namespaces, root, cgroup) and spawns it through the same
// stage1/child machinery as init (runtime/process.cpp).
#include "runtime/exec.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/file.hpp"
#include "base/log.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/container.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/terminal.hpp"
#include "runtime/process.hpp"
#include "runtime/rootless.hpp"
#include "runtime/sync.hpp"

namespace berth::runtime {

namespace {

Result<uint32_t> parse_id(const std::string& s, const std::string& what) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end || errno ||
        v > UINT32_MAX)
        return error(what + ": '" + s + "' is not a number from 0 to 4294967295");
    return uint32_t(v);
}

void add_unique(std::optional<std::vector<std::string>>& set, const std::string& cap) {
    if (!set) set.emplace();
    if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
}

bool contains(const std::optional<std::vector<std::string>>& set, const std::string& cap) {
    return set && std::find(set->begin(), set->end(), cap) != set->end();
}

// The cgroup the process joins: the container's, or the --cgroup sub-cgroups under it.
Result<cgroups::Manager> exec_cgroup(const ContainerState& st,
                                     const std::vector<std::string>& args) {
    auto m = TRY(cgroups::Manager::from_state(st.cgroup));
    if (args.empty()) return m;
    auto subs = TRY(parse_sub_cgroups(args));
    auto paths = m.paths();
    for (const auto& [ctrl, _] : subs)
        if (!ctrl.empty() && !paths.count(ctrl))
            return error("--cgroup: the container has no cgroup for controller '" + ctrl + "'");
    for (auto& [ctrl, dir] : paths) {
        auto it = subs.find(ctrl);
        if (it == subs.end()) it = subs.find("");
        if (it == subs.end()) continue;
        if (it->second.empty()) continue;  // "a/.." is the container's cgroup itself
        std::string sub = dir + "/" + it->second;
        struct stat sb;
        if (::stat(sub.c_str(), &sb) < 0 || !S_ISDIR(sb.st_mode))
            return sys_error("--cgroup: sub-cgroup '" + sub + "'");
        dir = sub;
    }
    return cgroups::Manager::from_paths(paths);
}

std::string absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char cwd[PATH_MAX];
    return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

}  // namespace

Result<spec::Process> exec_process(spec::Process p, const ExecOptions& o, bool from_file) {
    if (!from_file) {
        p.args = o.args;
        // runc: exec has a terminal only when asked, whatever the container's process has.
        p.terminal = o.tty;
    } else if (o.tty) {
        p.terminal = true;
    }
    if (!p.terminal) p.console_size.reset();
    if (!o.cwd.empty()) {
        if (o.cwd[0] != '/') return error("--cwd: must be an absolute path, got '" + o.cwd + "'");
        p.cwd = o.cwd;
    }
    for (const auto& e : o.env) {
        auto eq = e.find('=');
        if (eq == std::string::npos || eq == 0)
            return error("--env: '" + e + "' is not NAME=VALUE");
        std::string prefix = e.substr(0, eq + 1);
        auto it = std::find_if(p.env.begin(), p.env.end(),
                               [&](const std::string& x) { return x.starts_with(prefix); });
        if (it != p.env.end())
            *it = e;
        else
            p.env.push_back(e);
    }
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        p.user.uid = TRY(parse_id(o.user.substr(0, colon), "--user uid"));
        if (colon != std::string::npos)
            p.user.gid = TRY(parse_id(o.user.substr(colon + 1), "--user gid"));
    }
    for (const auto& g : o.additional_gids)
        p.user.additional_gids.push_back(TRY(parse_id(g, "--additional-gids")));
    if (!o.process_label.empty()) p.selinux_label = o.process_label;
    if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
    if (o.no_new_privs) p.no_new_privileges = true;
    for (const auto& c : o.caps) {
        std::string upper = c;
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        std::string lower = c;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        cap_value_t v;
        if (!upper.starts_with("CAP_") || cap_from_name(lower.c_str(), &v) < 0)
            return error("--cap: unknown capability '" + c + "'");
        // Without process.capabilities the process keeps every capability it has: nothing to
        // add. CVE-2022-29162: never into the inheritable set (runc once put --cap there,
        // which let a file's inheritable capabilities grant them across execve of a
        // non-root user's program); ambient only when the spec makes it inheritable.
        if (!p.capabilities) continue;
        auto& caps = *p.capabilities;
        add_unique(caps.bounding, upper);
        add_unique(caps.effective, upper);
        add_unique(caps.permitted, upper);
        if (contains(caps.inheritable, upper)) add_unique(caps.ambient, upper);
    }
    return p;
}

Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (const auto& a : args) {
        std::string ctrls, path = a;
        if (auto colon = a.find(':'); colon != std::string::npos) {
            ctrls = a.substr(0, colon);
            path = a.substr(colon + 1);
            if (path.find(':') != std::string::npos || ctrls.empty())
                return error("--cgroup: invalid argument '" + a + "'");
        } else if (args.size() != 1) {
            return error("--cgroup: invalid argument '" + a + "' (missing <controller>: prefix)");
        }
        // runc joins the path to the container's cgroup and refuses what lands outside it:
        // the same, lexically ("a/../b" is b; "../x" and "a/../../x" are refused).
        std::vector<std::string> parts;
        for (size_t b = 0; b <= path.size();) {
            size_t e = path.find('/', b);
            if (e == std::string::npos) e = path.size();
            std::string c = path.substr(b, e - b);
            b = e + 1;
            if (c.empty() || c == ".") continue;
            if (c == "..") {
                if (parts.empty()) return error("--cgroup: " + path + " is not a sub cgroup path");
                parts.pop_back();
                continue;
            }
            parts.push_back(c);
        }
        path.clear();
        for (const auto& c : parts)
            path += (path.empty() ? "" : "/") + c;
        if (ctrls.empty()) {
            out[""] = path;
            continue;
        }
        size_t pos = 0;
        while (pos <= ctrls.size()) {
            size_t comma = ctrls.find(',', pos);
            std::string c = ctrls.substr(pos, comma == std::string::npos ? comma : comma - pos);
            if (c.empty()) return error("--cgroup: invalid argument '" + a + "'");
            if (out.count(c)) return error("--cgroup: controller '" + c + "' given twice");
            out[c] = path;
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
    }
    return out;
}

Result<int> exec_container(const ExecOptions& o) {
    ContainerDir dir = TRY(ContainerDir::open(o.root, o.id));
    ContainerState st = TRY(dir.load());
    RunStatus status = current_status(dir, st);
    if (status == RunStatus::stopped) return error("cannot exec in a stopped container");
    if (status == RunStatus::paused && !o.ignore_paused)
        return error("cannot exec in a paused container (use --ignore-paused to override)");

    spec::Spec config = TRY(spec::load_config(dir.file("config.json")));
    spec::Process proc;
    std::string field = "config.json: process";
    if (!o.process_file.empty()) {
        field = o.process_file;
        std::string text = TRY_CTX(read_file(o.process_file, 16 << 20), "--process");
        spec::Process file = TRY_CTX(spec::parse_process(text), o.process_file);
        // As runc: what the file leaves out comes from the container's process.
        if (config.process) {
            const spec::Process& c = *config.process;
            if (!file.capabilities) file.capabilities = c.capabilities;
            if (file.rlimits.empty()) file.rlimits = c.rlimits;
            if (file.apparmor_profile.empty()) file.apparmor_profile = c.apparmor_profile;
            if (file.selinux_label.empty()) file.selinux_label = c.selinux_label;
        }
        proc = TRY(exec_process(std::move(file), o, true));
    } else {
        proc = TRY(exec_process(config.process.value_or(spec::Process{}), o, false));
    }
    TRY_CTX(spec::validate(proc), field);
    if (o.detach && proc.terminal && o.console_socket.empty())
        return error("cannot allocate tty if berth will detach without setting console socket");
    if ((!o.detach || !proc.terminal) && !o.console_socket.empty())
        return error("cannot use console socket if berth will not detach or allocate tty");
    for (int i = 0; i < o.preserve_fds; ++i)
        if (::fcntl(3 + i, F_GETFD) < 0)
            return sys_error("--preserve-fds: fd " + std::to_string(3 + i) + " is not open");

    ProcessPlan plan;
    plan.spec = &config;
    plan.process = &proc;
    plan.id = o.id;
    plan.extra_fds = o.preserve_fds;
    plan.ns = TRY(linux_::plan_join_process(st.pid));
    log::debug("exec in container '" + o.id + "': init pid " + std::to_string(st.pid) +
               ", namespaces: " + linux_::describe(plan.ns));
    plan.root_in_userns = plan.ns.joins_user() && linux_::root_mapped(st.pid);
    plan.rootless = rootless::enabled();
    struct stat root;
    if (::stat(("/proc/" + std::to_string(st.pid) + "/root").c_str(), &root) < 0)
        return sys_error("stat the container's root");
    plan.exec_root = std::make_pair(root.st_dev, root.st_ino);
    // The namespace files and the root are the init's only if the pid still is the init.
    if (!init_alive(st)) return error("cannot exec in a stopped container");
    TRY(plan_process_fields(plan, config, proc, field, o.root));

    UniqueFd console_parent;
    if (proc.terminal)
        console_parent =
            TRY(linux_::console_channel(!o.detach, o.console_socket, plan.console_socket));
    std::optional<cgroups::Manager> cg;
    if (!st.cgroup.is_null())
        cg = TRY(exec_cgroup(st, o.cgroups));
    else if (!o.cgroups.empty())
        return error("--cgroup: the container has no cgroup");
    plan.close_in_child.push_back(dir.lock_fd());

    SpawnCallbacks cb;
    cb.place_in_cgroup = [&](pid_t pid) -> Status {
        // Everything stage1 forks is accounted there; a cgroup namespace is joined after this.
        if (cg) TRY_CTX(cg->add_pid(pid), "cgroup");
        // Once stage1 is in the cgroup, a delete kills it with the container. The lock goes
        // now: a paused container's resume needs it, and stage1, frozen from here until then,
        // may not yet have closed its copy of the lock fd (unlock releases it anyway).
        dir.unlock();
        return ok();
    };
    cb.seccomp_listener = [&](int fd, pid_t pid) -> Status {
        auto j = nlohmann::json::parse(state_json(st, RunStatus::running, false));
        return seccomp::send_to_agent(plan.seccomp->listener_path, fd,
                                      plan.seccomp->listener_metadata, j, pid);
    };

    // Foreground: signals are blocked from before the clone so none is lost (the children
    // reset the mask) and relayed to the process.
    sigset_t sigs = relayed_signals(), old;
    if (!o.detach) ::sigprocmask(SIG_BLOCK, &sigs, &old);
    auto restore = [&] {
        if (!o.detach) ::sigprocmask(SIG_SETMASK, &old, nullptr);
    };
    // CVE-2019-5736, as create: until it execs, the process is a non-dumpable copy of berth
    // that processes in the container cannot open /proc/<pid>/exe, fds or memory of.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    auto spawned = spawn_exec(plan, cb);
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (!spawned) {
        restore();
        return std::move(spawned).error();
    }
    ChildProcess child = std::move(*spawned);
    const pid_t pid = child.pid();
    auto fail = [&](Error e) -> Error {
        // wait_foreground may have reaped the process before failing: the pidfd keeps this
        // SIGKILL from reaching a process that reused its pid.
        child.kill_and_reap();
        restore();
        return e;
    };
    log::debug("exec in container '" + o.id + "': process pid " + std::to_string(pid) +
               (cg ? " in cgroup " + cg->cgroup_path() : std::string()));
    if (!o.pid_file.empty())
        if (auto s = write_file_replace(absolute(o.pid_file), std::to_string(pid), 0644); !s)
            return fail(std::move(s).error().with_context("--pid-file"));
    if (o.detach) return 0;
    UniqueFd console;
    if (console_parent) {
        auto m = recv_fd(console_parent.get());
        if (!m) return fail(std::move(m).error().with_context("receive the pty master"));
        console = std::move(*m);
    }
    auto code = wait_foreground(pid, std::move(console), sigs);
    if (!code) return fail(std::move(code).error());
    restore();
    return code;
}

}  // namespace berth::runtime
