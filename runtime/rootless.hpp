// Rootless mode: whether berth runs without privilege over the host, and what that changes
// (state root, cgroups, id maps, oomScoreAdj). The rest of the runtime asks here rather than
// testing getuid() itself, so `--rootless true|false|auto` decides in one place.
#pragma once

#include <optional>
#include <string>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::rootless {

// --rootless: "auto" (default), "true" or "false", as runc takes it.
Status set_mode(const std::string& flag);
// The decision: forced by --rootless, else detected (effective uid not 0, or inside a user
// namespace whose uid map is not the whole range, as rootless podman runs its runtime).
bool enabled();
// True when berth runs inside a user namespace that does not map the whole uid range.
bool in_partial_user_namespace();

// The default --root: $XDG_RUNTIME_DIR/berth when rootless and the variable is set (runc's
// rule, including its exception for USER=root inside a user namespace), /run/berth otherwise.
std::string default_state_root();

// The first resource limit in r, as its config.json field ("linux.resources.memory.limit"),
// or nothing when r asks for no limit (device rules do not count: without privilege there
// are no device nodes to guard beyond the host's own permissions).
std::optional<std::string> first_limit(const spec::Resources& r);

// Where a rootless container can get a cgroup: a cgroup2 hierarchy (the only one, or the
// unified one of a hybrid host, used alone) where the directory that would hold the
// container is writable by us (a delegated subtree). Returns the error to report when not,
// naming the limit (or linux.cgroupsPath).
Status check_delegation(const std::string& limit_field, const std::string& cgroup_dir);

// What `berth features` says about rootless mode here (annotations).
struct HostSupport {
    bool user_namespaces = false;   // unprivileged user namespaces allowed
    bool newuidmap = false;         // newuidmap/newgidmap found (multi-range mappings)
    bool delegated_cgroup = false;  // a writable cgroup v2 subtree for this user
};
HostSupport host_support();

}  // namespace berth::runtime::rootless
