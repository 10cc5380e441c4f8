// berth-image inspect: an image's manifest and config from the store.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::cli {

int cmd_inspect(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("raw", "print the manifest exactly as stored")
        .flag("config", "print the config exactly as stored")
        .option("platform", "OS/ARCH[/VARIANT]", "platform to choose from an index")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("inspect: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image inspect [options] REF\n\n%s", a.help().c_str());
        return 0;
    }
    if (a.positionals().size() != 1) {
        report_error("inspect: expected exactly one image reference");
        return 125;
    }
    const std::string& ref = a.positionals()[0];
    auto fail = [&](const Error& e) {
        report_error("inspect '" + ref + "': " + e.str());
        return 1;
    };
    spec::Platform platform = spec::host_platform();
    if (a.has("platform")) {
        auto p = spec::parse_platform(a.get("platform"));
        if (!p) return fail(p.error());
        platform = *p;
    }
    auto store = Store::open(g.store);
    if (!store) return fail(store.error());
    auto img = store->load_image(ref, platform);
    if (!img) return fail(img.error());
    if (a.get_bool("raw") || a.get_bool("config")) {
        const auto& d = a.get_bool("raw") ? img->manifest_descriptor : img->config_descriptor;
        auto text = store->read_blob(d, 64u << 20);
        if (!text) return fail(text.error());
        std::fwrite(text->data(), 1, text->size(), stdout);
        return 0;
    }
    nlohmann::json out = {
        {"Name", img->name},
        {"Digest", img->manifest_descriptor.digest.str()},
        {"Id", img->config_descriptor.digest.str()},
        {"MediaType", img->manifest_descriptor.media_type},
        {"Platform",
         spec::platform_string(
             {img->config.architecture, img->config.os, "", {}, img->config.variant, {}})},
        {"Manifest", spec::to_json(img->manifest)},
        {"Config", spec::to_json(img->config)},
    };
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
}

}  // namespace berth::image::cli
