// berth-image pull: fetch an image from a registry into the store.
#include <cstdio>
#include <cstdlib>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/progress.hpp"
#include "imagetool/cli/registry_flags.hpp"
#include "imagetool/registry/pull.hpp"

namespace berth::image::cli {

int cmd_pull(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    add_registry_flags(a, true);
    a.option("platform", "OS/ARCH[/VARIANT]",
             "platform to choose from an index (default: this host)")
        .option("jobs,j", "N", "layers downloaded at once", "4")
        .flag("quiet,q", "print only the digest")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("pull: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image pull [options] REF\n\n%s", a.help().c_str());
        return 0;
    }
    if (a.positionals().size() != 1) {
        report_error("pull: expected exactly one image reference");
        return 125;
    }
    const std::string& text = a.positionals()[0];
    auto fail = [&](const Error& e) {
        report_error("pull '" + text + "': " + e.str());
        return 1;
    };
    auto ref = Reference::parse(text);
    if (!ref) return fail(ref.error());
    PullOptions opts;
    if (a.has("platform")) {
        auto p = spec::parse_platform(a.get("platform"));
        if (!p) return fail(p.error());
        opts.platform = *p;
    }
    auto jobs = a.get_number("jobs", 1, 64);
    if (!jobs) {
        report_error("pull: --jobs: expected a number from 1 to 64");
        return 125;
    }
    opts.jobs = int(*jobs);
    auto ro = registry_options(a, ref->registry, true);
    if (!ro) return fail(ro.error());
    opts.registry = *ro;
    auto store = Store::open(g.store);
    if (!store) return fail(store.error());
    bool quiet = a.get_bool("quiet");
    ProgressDisplay progress(stderr);
    if (!quiet) std::fprintf(stderr, "Pulling %s\n", ref->str().c_str());
    auto r = pull_image(*store, *ref, opts, quiet ? nullptr : &progress);
    if (!r) return fail(r.error());
    if (quiet) {
        std::printf("%s\n", r->digest.str().c_str());
    } else {
        progress.finish();
        std::printf("Digest: %s\nStatus: pulled %s\n", r->digest.str().c_str(), r->name.c_str());
    }
    return 0;
}

}  // namespace berth::image::cli
