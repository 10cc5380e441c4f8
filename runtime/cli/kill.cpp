// berth kill: send a signal (name, SIG-name or number; default SIGTERM) to the container.
#include <signal.h>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

int cmd_kill(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("all,a", "send the specified signal to all processes inside the container");
    int status;
    if (!parse_or_help(a, argv, "kill [command options] <container-id> [signal]", &status))
        return status;
    const auto& pos = a.positionals();
    if (pos.empty() || pos.size() > 2)
        return fail(error("\"kill\" requires a minimum of 1 and a maximum of 2 arguments"));
    int sig = SIGTERM;
    if (pos.size() == 2) {
        auto s = runtime::parse_signal(pos[1]);
        if (!s) return fail(s.error());
        sig = *s;
    }
    if (auto s = runtime::kill_container(g.root, pos[0], sig, a.get_bool("all")); !s)
        return fail(s.error());
    return 0;
}

}  // namespace berth::cli
