// berth resume: thaw a paused container.
#include "runtime/cli/cgroup_util.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"

namespace berth::cli {

int cmd_resume(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    int status;
    if (!parse_or_help(a, argv, "resume <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "resume");
    if (!id) return fail(id.error());
    auto c = open_container_cgroup(g.root, *id, true);
    if (!c) return fail(c.error());
    if (!c->alive) return fail(error(ErrorKind::wrong_state, "container not running"));
    auto frozen = c->cg.frozen();
    if (!frozen) return fail(frozen.error());
    if (!*frozen) return fail(error("container not paused"));
    if (auto st = c->cg.thaw(); !st) return fail(st.error().with_context("resume '" + *id + "'"));
    return 0;
}

}  // namespace berth::cli
