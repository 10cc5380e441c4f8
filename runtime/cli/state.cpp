// berth state: runc's state JSON for one container.
#include <cstdio>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

int cmd_state(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    int status;
    if (!parse_or_help(a, argv, "state <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "state");
    if (!id) return fail(id.error());
    auto v = runtime::container_state(g.root, *id);
    if (!v) return fail(v.error());
    // runc prints the owner empty here (list fills it in) and no trailing newline.
    runtime::ContainerState st = v->state;
    st.owner = "";
    std::fputs(runtime::state_json(st, v->status, true).c_str(), stdout);
    return 0;
}

}  // namespace berth::cli
