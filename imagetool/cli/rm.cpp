// berth-image rm: remove image names (the blobs go at the next gc, or now with --gc).
#include <cstdio>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::cli {

int cmd_rm(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("gc", "remove unreferenced blobs afterwards").flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("rm: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image rm [--gc] REF...\n\n%s", a.help().c_str());
        return 0;
    }
    if (a.positionals().empty()) {
        report_error("rm: expected at least one image reference");
        return 125;
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("rm: " + store.error().str());
        return 1;
    }
    int rc = 0;
    for (const auto& ref : a.positionals()) {
        std::string name = ref;
        if (auto r = Reference::parse(ref)) {
            // A name other tools wrote ("latest") is matched as is when the normalised one
            // is not there.
            if (store->find(r->str())) name = r->str();
        }
        if (auto st = store->remove_name(name); !st) {
            report_error("rm '" + ref + "': " + st.error().str());
            rc = 1;
            continue;
        }
        std::printf("Untagged: %s\n", name.c_str());
    }
    if (a.get_bool("gc")) {
        if (auto r = store->gc(); !r) {
            report_error("rm: gc: " + r.error().str());
            return 1;
        }
    }
    return rc;
}

}  // namespace berth::image::cli
