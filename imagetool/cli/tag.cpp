// berth-image tag: give an image in the store another name.
#include <cstdio>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::cli {

int cmd_tag(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("tag: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image tag SOURCE TARGET\n");
        return 0;
    }
    if (a.positionals().size() != 2) {
        report_error("tag: expected SOURCE and TARGET");
        return 125;
    }
    const std::string& src = a.positionals()[0];
    const std::string& dst = a.positionals()[1];
    auto target = Reference::parse(dst);
    if (!target) {
        report_error("tag '" + dst + "': " + target.error().str());
        return 1;
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("tag '" + src + "': " + store.error().str());
        return 1;
    }
    auto d = store->lookup(src);
    if (!d) {
        report_error("tag '" + src + "': " + d.error().str());
        return 1;
    }
    if (auto st = store->set_name(target->str(), *d); !st) {
        report_error("tag '" + dst + "': " + st.error().str());
        return 1;
    }
    return 0;
}

}  // namespace berth::image::cli
