// berth start: let a created container's init exec the user process.
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

int cmd_start(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    int status;
    if (!parse_or_help(a, argv, "start <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "start");
    if (!id) return fail(id.error());
    if (auto s = runtime::start_container(g.root, *id); !s) return fail(s.error());
    return 0;
}

}  // namespace berth::cli
