// Opening a container's cgroup for the resource commands (update, pause, resume, events).
#include "runtime/cli/cgroup_util.hpp"

#include "runtime/rootless.hpp"

namespace berth::cli {

Result<ContainerCgroup> open_container_cgroup(const std::string& root, const std::string& id,
                                              bool lock) {
    auto dir = TRY(runtime::ContainerDir::open(root, id, lock));
    auto st = TRY(dir.load());
    if (st.cgroup.is_null() || st.cgroup.empty()) {
        // Rootless containers without limits run without a cgroup (there is nothing to
        // freeze, update or read statistics from); say so rather than a bare "no cgroup".
        if (runtime::rootless::enabled())
            return error("container '" + id +
                         "' has no cgroup: it runs rootless without a delegated cgroup v2 "
                         "subtree (create it with a resource limit under a delegated cgroup)");
        return error("container '" + id + "' has no cgroup recorded in its state");
    }
    auto cg = TRY_CTX(cgroups::Manager::from_state(st.cgroup), "container '" + id + "'");
    bool alive = runtime::init_alive(st);
    return ContainerCgroup{std::move(dir), std::move(st), std::move(cg), alive};
}

}  // namespace berth::cli
