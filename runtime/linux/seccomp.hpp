// Seccomp: compiles linux.seccomp to BPF in the parent, installs it in the child before exec.
//
// Integration contract (the process model in DESIGN.md; runc's order):
//
//   parent, before clone:
//     auto f = TRY(seccomp::compile(spec.linux_->seccomp.value()));   // or compile_cached
//     All libseccomp work (syscall name lookup, rule trees, BPF generation) happens here, so
//     the child only copies a ready program into the kernel.
//
//   child, after clone:
//     - With process.noNewPrivileges = false, loading a filter needs CAP_SYS_ADMIN (in the
//       container's user namespace), so load BEFORE capabilities are dropped (runc does the
//       same); every syscall the child makes afterwards (setgroups, setuid, capset, prctl,
//       sendmsg, execve, ...) then runs under the filter and must be allowed by the profile.
//     - With noNewPrivileges = true, call prctl(PR_SET_NO_NEW_PRIVS) first, then load as the
//       very last step before execve, so the fewest syscalls run under the filter.
//     auto listener = seccomp::load(f);   // Result<UniqueFd>; invalid fd unless f.needs_listener
//     If f.needs_listener: seccomp::send_fd(sync_sock, listener.get()) over the AF_UNIX sync
//     socketpair (SCM_RIGHTS), close the child's copy, then continue to execve. The child
//     does not wait for the agent: a NOTIFY-ed syscall simply blocks until the agent answers.
//     NOTIFY may not be used on write/sendmsg/sendto (rejected by compile) because the child
//     needs them to hand the fd over; the listener fd itself is O_CLOEXEC.
//
//   parent, on receiving that sync message:
//     UniqueFd fd = TRY(seccomp::receive_fd(sync_sock));
//     TRY(seccomp::send_to_agent(f.listener_path, fd.get(), f.listener_metadata,
//                                state_json_with_status_creating, child_pid));
//     then closes fd. A failure here fails container creation (runc does the same).
//
// Cache: compile_cached() keeps the BPF bytes under <root>/seccomp-cache/<key>.bpf, where
// key = sha256(canonical profile + libseccomp version + native arch + berth version);
// see docs/seccomp.md for when it pays.
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
