// Shared by update, pause, resume and events: a container's state and its cgroup Manager.
#pragma once

#include <string>

#include "base/result.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/container.hpp"

namespace berth::cli {

struct ContainerCgroup {
    runtime::ContainerDir dir;
    runtime::ContainerState state;
    cgroups::Manager cg;
    bool alive = false;
};

// Opens (and locks, when `lock`) the container and rebuilds its cgroup Manager from the paths
// state.json recorded; "container does not exist" / "container has no cgroup" otherwise.
Result<ContainerCgroup> open_container_cgroup(const std::string& root, const std::string& id,
                                              bool lock);

}  // namespace berth::cli
