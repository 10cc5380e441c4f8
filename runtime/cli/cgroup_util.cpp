// Opening a container's cgroup for the resource commands (update, pause, resume, events).
#include "runtime/cli/cgroup_util.hpp"

namespace berth::cli {

Result<ContainerCgroup> open_container_cgroup(const std::string& root, const std::string& id,
                                              bool lock) {
    auto dir = TRY(runtime::ContainerDir::open(root, id, lock));
    auto st = TRY(dir.load());
    if (st.cgroup.is_null() || st.cgroup.empty())
        return error("container '" + id + "' has no cgroup recorded in its state");
    auto cg = TRY_CTX(cgroups::Manager::from_state(st.cgroup), "container '" + id + "'");
    bool alive = runtime::init_alive(st);
    return ContainerCgroup{std::move(dir), std::move(st), std::move(cg), alive};
}

}  // namespace berth::cli
