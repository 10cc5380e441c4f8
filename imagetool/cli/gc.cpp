// berth-image gc: remove blobs no name reaches and interrupted downloads; keep the build
// cache's layers unless --build-cache drops the cache.
#include <cstdio>

#include "base/args.hpp"
#include "imagetool/build/cache.hpp"
#include "imagetool/bundle/snapshot.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/progress.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::cli {

int cmd_gc(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("build-cache", "also drop the build cache (then its layers, unless an image uses them)")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("gc: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image gc [--build-cache]\n\n%s", a.help().c_str());
        return 0;
    }
    if (!a.positionals().empty()) {
        report_error("gc: takes no arguments");
        return 125;
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("gc: " + store.error().str());
        return 1;
    }
    bool drop_cache = a.get_bool("build-cache");
    size_t dropped = 0;
    // Under gc's exclusive lock: no build is between a cache hit and naming its image.
    auto r = store->gc([&](std::set<spec::Digest>& live) -> Status {
        if (drop_cache) dropped = TRY(build::clear_build_cache(*store));
        return build::cache_live_blobs(*store, live);
    });
    if (!r) {
        report_error("gc '" + g.store + "': " + r.error().str());
        return 1;
    }
    // Snapshot layers go only when no bundle mounts them and no named image uses them.
    auto layers = bundle::prune_layers(*store);
    if (!layers) {
        report_error("gc '" + g.store + "': snapshot layers: " + layers.error().str());
        return 1;
    }
    std::printf("removed %zu blobs (%s), %zu temporary files, %zu snapshot layers",
                r->blobs_removed, human_size(int64_t(r->bytes_removed)).c_str(), r->temp_removed,
                *layers);
    if (drop_cache) std::printf(", %zu build cache entries", dropped);
    std::printf("\n");
    return 0;
}

}  // namespace berth::image::cli
