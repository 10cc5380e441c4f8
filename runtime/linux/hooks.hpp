// OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
// optional timeout in seconds.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// Runs hooks in order, stopping at the first failure, in runc 1.1.5's words after the kind:
// "createRuntime: error running hook #1: error running hook: exit status 3, stdout: ..,
// stderr: ..", "..: signal: killed, ..", "..: hook ran past specified timeout of 5.0s",
// "..: fork/exec /path: no such file or directory". The hook's stdout and stderr are captured
// (as runc does), not passed through. Safe in the container's init too: it only forks, execs,
// reads pipes and waits.
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind,
                 const std::string& state_json);

// A signal's name as Go prints it ("killed", "segmentation fault"; "signal 34" past 31).
std::string go_signal_text(int sig);

}  // namespace berth::runtime::linux_
