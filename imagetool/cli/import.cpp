// berth-image import [--env K=V]... [--user U] [--workdir D] [--label K=V]... SRC REF [-- CMD...]
#include <cstdio>

#include "base/args.hpp"
#include "imagetool/bundle/import.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/reference.hpp"

namespace berth::image::cli {

int cmd_import(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("env", "K=V", "Env of the image config (repeatable)")
        .option("user", "USER", "User of the image config")
        .option("workdir", "DIR", "WorkingDir of the image config")
        .option("label", "K=V", "a label (repeatable)")
        .flag("quiet,q", "print nothing")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("import: " + st.error().str());
        return 125;
    }
    const auto& pos = a.positionals();
    if (a.get_bool("help") || pos.size() < 2) {
        std::printf(
            "Usage: berth-image import [options] DIR|TAR REF [-- CMD...]\n\n"
            "Makes a one-layer image from a root filesystem and stores it as REF.\n\n%s",
            a.help().c_str());
        return a.get_bool("help") ? 0 : 125;
    }
    auto ref = Reference::parse(pos[1]);
    if (!ref) {
        report_error("import: " + ref.error().str());
        return 125;
    }
    bundle::ImportOptions o;
    o.cmd.assign(pos.begin() + 2, pos.end());
    o.env = a.get_all("env");
    o.user = a.get("user");
    o.workdir = a.get("workdir");
    for (const auto& l : a.get_all("label")) {
        auto eq = l.find('=');
        if (eq == std::string::npos) {
            report_error("import: --label '" + l + "': expected KEY=VALUE");
            return 125;
        }
        o.labels[l.substr(0, eq)] = l.substr(eq + 1);
    }
    for (const auto& e : o.env)
        if (e.find('=') == std::string::npos) {
            report_error("import: --env '" + e + "': expected KEY=VALUE");
            return 125;
        }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("import: " + store.error().str());
        return 1;
    }
    auto d = bundle::import_image(*store, pos[0], ref->str(), o);
    if (!d) {
        report_error("import '" + pos[0] + "': " + d.error().str());
        return 1;
    }
    if (!a.get_bool("quiet")) std::printf("%s\n", d->digest.str().c_str());
    return 0;
}

}  // namespace berth::image::cli
