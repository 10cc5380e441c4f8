// berth pause: freeze every process of the container (v1 freezer.state, v2 cgroup.freeze).
#include "runtime/cli/cgroup_util.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"

namespace berth::cli {

int cmd_pause(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    int status;
    if (!parse_or_help(a, argv, "pause <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "pause");
    if (!id) return fail(id.error());
    auto c = open_container_cgroup(g.root, *id, true);
    if (!c) return fail(c.error());
    if (!c->alive) return fail(error(ErrorKind::wrong_state, "container not running"));
    if (auto st = c->cg.freeze(); !st) return fail(st.error().with_context("pause '" + *id + "'"));
    return 0;
}

}  // namespace berth::cli
