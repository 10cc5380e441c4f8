// OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
// optional timeout in seconds.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// Runs hooks in order, stopping at the first failure ("<kind> hook #N (<path>): exit status 3").
// Safe in the container's init too: it only forks, execs and waits.
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind,
                 const std::string& state_json);

}  // namespace berth::runtime::linux_
