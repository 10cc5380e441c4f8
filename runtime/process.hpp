// The container's init and `berth exec`'s processes: everything about them prepared in the
// parent (ProcessPlan), then stage1 and the process cloned and driven through the sync
// protocol (table in sync.hpp).
//
// Rules the child code keeps (docs/process-model.md): after fork the child never throws and
// never returns into the parent's frames — every failure goes to the parent as kError and
// the child _exits. Plans, seccomp programs and capability sets are made before the clone;
// what only the container's filesystem can answer (its /etc/passwd for HOME and groups,
// args[0] on the container's PATH) the child looks up after pivot_root.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/child_process.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "runtime/linux/capabilities.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/process_attrs.hpp"
#include "runtime/linux/rlimits.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime {

struct ProcessPlan {
    const spec::Spec* spec = nullptr;
    // The process to run: the spec's for init, the exec process (config.json's process with
    // exec's overrides, or --process) for exec.
    const spec::Process* process = nullptr;
    std::string id;
    linux_::NamespacePlan ns;
    // stage1 becomes uid/gid 0 after entering the user namespace (root is mapped there), so
    // that the process has the namespace's full capabilities until it changes to its user.
    bool root_in_userns = false;
    // rootless::enabled() at plan time: id maps may need newuidmap, stage1 is dumpable while
    // they are written, oomScoreAdj cannot be lowered, no cgroup without limits.
    bool rootless = false;
    linux_::RootfsPlanPtr rootfs;
    std::optional<linux_::CapSets> caps;
    std::vector<linux_::RlimitSetting> rlimits;
    linux_::ProcessAttrs attrs;
    std::optional<seccomp::CompiledFilter> seccomp;  // compiled here, only loaded in init
    std::vector<std::string> env;  // process.env plus LISTEN_FDS/LISTEN_PID when passed on
    int extra_fds = 0;             // fds 3..3+extra_fds-1 survive into the container
    bool no_pivot = false;
    bool no_new_keyring = false;
    UniqueFd console_socket;          // terminal: where init sends the pty master
    UniqueFd start_listener;          // listening socket at <state>/start.sock
    std::vector<int> close_in_child;  // parent-only fds a fork would otherwise keep (the lock)
    // exec only: device and inode of the init's root (/proc/<init>/root). Joining the mount
    // namespace sets "/" to the namespace's root; the exec'd process checks it is this one.
    std::optional<std::pair<dev_t, ino_t>> exec_root;
};

// Checks the spec's process and namespaces and resolves everything the child will need.
// With a state root (a real container, not a probe), the compiled seccomp program is cached
// in seccomp::cache_dir() (a Docker-sized profile costs tens of milliseconds to compile; a
// cache hit a fraction of one).
Result<ProcessPlan> plan_process(const spec::Spec& spec, const std::string& bundle,
                                 const std::string& id, const std::string& state_root = "");

// The part of planning init and exec share: capabilities, rlimits, scheduler/affinity/LSM
// attributes and environment of `p`, and the container's seccomp program (cached when
// state_root is given). `field` prefixes errors ("config.json: process").
Status plan_process_fields(ProcessPlan& plan, const spec::Spec& spec, const spec::Process& p,
                           const std::string& field, const std::string& state_root);

struct SpawnCallbacks {
    // Parent, before stage1 may go on: put it in the container's cgroup (everything it and
    // init fork is then accounted there, and a new cgroup namespace is rooted there).
    std::function<Status(pid_t stage1)> place_in_cgroup;
    // Parent: init's seccomp notify listener, to hand to linux.seccomp.listenerPath.
    std::function<Status(int listener_fd, pid_t init_pid)> seccomp_listener;
    // Parent, between kRuntimeHooks and kHooksDone: prestart and createRuntime hooks.
    std::function<Status(pid_t init_pid)> runtime_hooks;
    // The state JSON strings init needs for createContainer and startContainer hooks.
    std::function<std::string(pid_t init_pid, const char* status)> state_json;
};

// Clones stage1 and init and drives them until init reports kReady (it then waits on the
// start socket). On failure every process made is killed and reaped. Returns init, held by
// a pidfd.
Result<ChildProcess> spawn_init(ProcessPlan& plan, const SpawnCallbacks& cb);

// berth exec: clones stage1, which joins plan.ns (the init's namespaces), and the process,
// which sets itself up as init does and execs at once. Only place_in_cgroup (called for
// stage1, before it joins the namespaces) and seccomp_listener are used. Returns the
// process (held by a pidfd) once it has exec'd (the sync socket is CLOEXEC: EOF after kReady); a
// failure up to and including execve is the error, with every process made killed and reaped.
Result<ChildProcess> spawn_exec(ProcessPlan& plan, const SpawnCallbacks& cb);

}  // namespace berth::runtime
