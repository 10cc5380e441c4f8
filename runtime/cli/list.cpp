// berth list: every container under --root, as runc's table, JSON or ids only.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/container.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

namespace {
// Go's tabwriter as runc configures it: minimum cell width 12, padding 3, last column bare.
void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> w;
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) {
            if (w.size() <= i) w.push_back(12);
            w[i] = std::max(w[i], r[i].size() + 3);
        }
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) line.append(w[i] - r[i].size(), ' ');
        }
        std::printf("%s\n", line.c_str());
    }
}
}  // namespace

int cmd_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("format,f", "value", "select one of: table or json", "table")
        .flag("quiet,q", "display only container IDs");
    int status;
    if (!parse_or_help(a, argv, "list [command options]", &status)) return status;
    if (!a.positionals().empty()) return fail(error("\"list\" requires exactly 0 argument(s)"));
    // A root shared with another runtime (dockerd gives runc and berth the same one) holds
    // containers berth cannot read: each is skipped with a warning, as runc does.
    std::vector<runtime::StateView> views;
    for (const auto& id : runtime::list_ids(g.root)) {
        auto v = runtime::container_state(g.root, id);
        if (!v) {
            log::warn("list: skipping '" + id + "' (not a berth container): " + v.error().str());
            continue;
        }
        views.push_back(std::move(*v));
    }
    if (a.get_bool("quiet")) {
        for (const auto& v : views)
            std::printf("%s\n", v.state.id.c_str());
        return 0;
    }
    std::string fmt = a.get("format");
    if (fmt == "json") {
        if (views.empty()) {
            std::printf("null\n");
            return 0;
        }
        std::string out = "[";
        for (size_t i = 0; i < views.size(); ++i) {
            runtime::ContainerState st = views[i].state;
            st.owner = views[i].owner;
            if (i) out += ",";
            out += runtime::state_json(st, views[i].status, false);
        }
        std::printf("%s]\n", out.c_str());
        return 0;
    }
    if (fmt != "table") return fail(error("invalid format option"));
    std::vector<std::vector<std::string>> rows{
        {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& v : views) {
        bool stopped = v.status == runtime::RunStatus::stopped;
        rows.push_back({v.state.id, std::to_string(stopped ? 0 : v.state.pid),
                        runtime::status_name(v.status), v.state.bundle, v.state.created, v.owner});
    }
    print_table(rows);
    return 0;
}

}  // namespace berth::cli
