// Seccomp: compiles linux.seccomp to BPF in the parent, installs it in the child before exec.
//
// Integration contract (docs/process-model.md; runc's order):
//
//   parent, before clone (create, and exec for its process):
//     plan.seccomp = TRY(seccomp::compile_cached(*spec.linux_->seccomp,
//                                                seccomp::cache_dir()));
//     All libseccomp work (syscall name lookup, rule trees, BPF generation) happens here, so
//     the child only copies a ready program into the kernel.
//
//   child (init), after the rootfs, rlimits and LSM labels:
//     - noNewPrivileges = false: loading needs CAP_SYS_ADMIN (in the container's user
//       namespace), so load BEFORE the capabilities are dropped (runc does the same); the
//       child's later syscalls (setgroups, setresuid, capset, prctl, execve, ...) then run
//       under the filter and the profile must allow them.
//     - noNewPrivileges = true: prctl(PR_SET_NO_NEW_PRIVS) first, then load as late as
//       possible, so the fewest syscalls run under the filter.
//     auto listener = seccomp::load(f);  // Result<UniqueFd>; valid only if f.needs_listener
//     With a listener: send a "seccomp listener" sync message and the fd (SCM_RIGHTS) on the
//     AF_UNIX sync socket, close the child's copy, wait for "seccomp done". NOTIFY may not be
//     used on write/sendmsg/sendto (compile() rejects it): the child needs them to hand the
//     fd over. Other syscalls the child makes afterwards (read, close, accept...) block
//     until the agent answers them, which it can by then. The listener fd is O_CLOEXEC.
//
//   parent, on "seccomp listener" (after it sent the hooks' state, before "ready"):
//     UniqueFd fd = TRY(recv_fd(sync));   // seccomp::receive_fd or the sync layer's own
//     TRY(seccomp::send_to_agent(f.listener_path, fd.get(), f.listener_metadata,
//                                state_json_with_status_creating, init_pid));
//     then replies "seccomp done" and closes fd. A failure fails the create (runc too).
//
// Cache: compile_cached() keeps the program in cache_dir()/<hash>.bpf; the file
// holds the whole key (profile, berth and libseccomp versions, kernel release, machine) and
// a hit must match it byte for byte. docs/seccomp.md has the numbers.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "spec/runtime_config.hpp"

namespace berth::seccomp {

// A ready-to-load filter: plain data, cheap to keep across clone().
struct CompiledFilter {
    std::vector<struct sock_filter> program;  // classic BPF, native byte order
    unsigned int flags = 0;       // SECCOMP_FILTER_FLAG_* for seccomp(2), NEW_LISTENER included
    bool needs_listener = false;  // some rule is SCMP_ACT_NOTIFY
    std::string listener_path;
    std::string listener_metadata;
};

// Translates and compiles the profile. Errors name the field:
// "linux.seccomp.syscalls[2].action: unknown action 'SCMP_ACT_FOO'". Syscall names this
// libseccomp does not know are skipped with a debug log (runc's behaviour: profiles list
// syscalls newer than the host).
Result<CompiledFilter> compile(const spec::Seccomp& profile);

// As compile(), reusing a cached program from cache_dir when the profile, libseccomp version,
// native architecture and berth version match. A cache that cannot be read or written is
// not an error (the filter is compiled as usual).
Result<CompiledFilter> compile_cached(const spec::Seccomp& profile, const std::string& cache_dir);
// The cache directory: /run/berth-seccomp-cache for root, $XDG_RUNTIME_DIR/berth-seccomp-cache
// otherwise ("" without XDG_RUNTIME_DIR: no cache). Never inside a --root: engines share
// their state root between runtimes (dockerd's /run/docker/runtime-runc/moby), and runc's
// `list` there warns about every directory that is not a container. One directory serves
// every root: the key is the whole profile, and the directory is bounded (64 entries).
std::string cache_dir();

// In the child: installs the program with seccomp(SECCOMP_SET_MODE_FILTER). Returns the
// notify listener fd (O_CLOEXEC) when the filter needs one, an invalid UniqueFd otherwise.
// Allocates only on failure.
Result<UniqueFd> load(const CompiledFilter& filter);

// SCM_RIGHTS helpers for the AF_UNIX sync socket: one fd with a one-byte payload.
Status send_fd(int sock, int fd);
Result<UniqueFd> receive_fd(int sock);

// In the parent: connects to listener_path (SOCK_STREAM) and sends the runtime-spec
// "container process state" JSON with the listener fd attached (runc's wire format):
// {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state": <state>}.
Status send_to_agent(const std::string& listener_path, int listener_fd, const std::string& metadata,
                     const nlohmann::json& state, pid_t pid);
// The message send_to_agent writes (exposed for tests).
std::string process_state_json(const std::string& metadata, const nlohmann::json& state, pid_t pid);

// What this build and kernel support, for `berth features`.
struct Support {
    bool enabled = false;  // the kernel has seccomp filter mode
    std::vector<std::string> actions, operators, archs, known_flags, supported_flags;
    std::string libseccomp_version;  // "2.5.4"
};
Support probe_support();

}  // namespace berth::seccomp
