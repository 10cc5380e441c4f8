// The container process's identity: supplementary groups, gid, uid, umask, and the
// environment details that depend on it (HOME) — applied in the child after pivot.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/passwd.hpp"
#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// setgroups (skipped when the user namespace denies it and none are asked), setresgid,
// setresuid. Capabilities are kept across the uid change (PR_SET_KEEPCAPS) so the caller
// can then set the exact sets the spec asks for.
Status apply_user(const spec::User& u, bool keep_caps);

// uid's entry in a passwd file (read directly, as runc's Go code does: berth is linked
// statically, where glibc's NSS lookups would need its shared libraries again).
std::optional<PasswdEntry> passwd_entry(uint32_t uid, const std::string& path = "/etc/passwd");

// HOME from the container's /etc/passwd for uid (after pivot, "/" is the container's root),
// "/" when absent; added to env only when env has no HOME, as runc does.
void add_home(std::vector<std::string>& env, uint32_t uid);

// Resolves args[0] with the PATH of the container environment (after pivot and after the
// switch to the process's user, so a permission error is the user's), as Go's exec.LookPath
// does for runc. Fails with runc's words, in Go's lower case:
//   exec: "/x": stat /x: no such file or directory
//   exec: "x": executable file not found in $PATH
//   exec: "/x": permission denied
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

// runc's words for a failed execve of exe: `exec /x: permission denied`.
std::string exec_failure(const std::string& exe, int err);

// strerror(err) as Go prints it: lower-case first letter.
std::string go_errno_text(int err);

}  // namespace berth::runtime::linux_
