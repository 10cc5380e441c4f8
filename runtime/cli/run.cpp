// berth run: create and start, then (unless --detach) wait and exit with the container's status.
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

void add_create_flags(Args& a);
Result<runtime::CreateOptions> create_options(const GlobalOptions& g, const Args& a,
                                              const std::string& id);

int cmd_run(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    add_create_flags(a);
    a.flag("detach,d", "detach from the container's process")
        .flag("keep", "do not delete the container after it exits")
        .flag("no-subreaper", "accepted for compatibility: berth's init is always its own child");
    int status;
    if (!parse_or_help(a, argv, "run [command options] <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "run");
    if (!id) return fail(id.error());
    if (a.get_bool("detach") && a.get_bool("keep"))
        return fail(error("--detach and --keep are mutually exclusive"));
    auto o = create_options(g, a, *id);
    if (!o) return fail(o.error());
    auto r = runtime::run_container(*o, a.get_bool("detach"), a.get_bool("keep"));
    if (!r) return fail(r.error());
    return *r;
}

}  // namespace berth::cli
