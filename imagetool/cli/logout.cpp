// berth-image logout: remove stored credentials for a registry (or all of them).
#include <cstdio>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/credentials.hpp"

namespace berth::image::cli {

int cmd_logout(const GlobalOptions&, const std::vector<std::string>& argv) {
    Args a;
    a.option("authfile", "FILE", "auth file")
        .flag("all,a", "remove the credentials of every registry")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("logout: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image logout [options] REGISTRY | --all\n\n%s", a.help().c_str());
        return 0;
    }
    bool all = a.get_bool("all");
    if (all != a.positionals().empty() || a.positionals().size() > 1) {
        report_error("logout: expected one registry or --all");
        return 125;
    }
    std::string file = default_authfile(a.get("authfile"));
    std::string text = all ? "" : a.positionals()[0];
    std::string registry;
    if (!all) {
        auto r = normalize_registry(text);
        if (!r) {
            report_error("logout '" + text + "': " + r.error().str());
            return 1;
        }
        registry = *r;
    }
    auto removed = remove_credentials(file, registry);
    if (!removed) {
        report_error("logout '" + (all ? file : text) + "': " + removed.error().str());
        return 1;
    }
    if (!*removed && !all) {
        report_error("logout '" + text + "': not logged in");
        return 1;
    }
    if (all)
        std::printf("Removed login credentials for all registries\n");
    else
        std::printf("Removed login credentials for %s\n", registry.c_str());
    return 0;
}

}  // namespace berth::image::cli
