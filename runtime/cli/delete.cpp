// berth delete: remove a stopped (or, with --force, any) container and what it holds.
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

int cmd_delete(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("force,f", "forcibly delete the container if it is still running (uses SIGKILL)");
    int status;
    if (!parse_or_help(a, argv, "delete [command options] <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "delete");
    if (!id) return fail(id.error());
    if (auto s = runtime::delete_container(g.root, *id, a.get_bool("force")); !s)
        return fail(s.error());
    return 0;
}

}  // namespace berth::cli
