// berth-image unpack [--snapshot] [--rootless] [--entrypoint CMD] [--volume H:C[:ro]]...
//                    [--platform P] REF DIR [-- ARGS...]
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/args.hpp"
#include "imagetool/bundle/unpack.hpp"
#include "imagetool/cli/commands.hpp"

namespace berth::image::cli {

int cmd_unpack(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.flag("snapshot", "rootfs as an overlay of cached layers (a second bundle costs a mount)")
        .flag("rootless", "user-namespaced config; files owned by the caller")
        .option("entrypoint", "JSON|CMD", "replace the image's Entrypoint (and drop its Cmd)")
        .option("volume", "HOST:CTR[:ro]", "bind HOST at CTR instead of a tmpfs (repeatable)")
        .option("platform", "OS/ARCH[/VARIANT]", "image platform (default: this host)")
        .option("jobs", "N", "accepted and ignored: snapshot layers apply in order", "4")
        .flag("terminal", "process.terminal = true in config.json")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("unpack: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf(
            "Usage: berth-image unpack [options] REF DIR [-- ARGS...]\n\n"
            "Writes an OCI runtime bundle: DIR/config.json and DIR/rootfs.\n\n%s",
            a.help().c_str());
        return 0;
    }
    const auto& pos = a.positionals();
    if (pos.size() < 2) {
        report_error("unpack: expected REF DIR (see --help)");
        return 125;
    }
    bundle::UnpackOptions o;
    o.snapshot = a.get_bool("snapshot");
    o.bundle.rootless = a.get_bool("rootless");
    o.bundle.terminal = a.get_bool("terminal");
    o.bundle.uid = getuid();
    o.bundle.gid = getgid();
    o.bundle.args.assign(pos.begin() + 2, pos.end());
    o.jobs = std::atoi(a.get("jobs").c_str());
    if (a.has("entrypoint")) {
        std::string e = a.get("entrypoint");
        // Docker takes one word; a JSON array gives several.
        if (!e.empty() && e[0] == '[') {
            try {
                o.bundle.entrypoint = nlohmann::json::parse(e).get<std::vector<std::string>>();
            } catch (const std::exception& ex) {
                report_error("unpack: --entrypoint: " + std::string(ex.what()));
                return 125;
            }
        } else {
            o.bundle.entrypoint = std::vector<std::string>{e};
        }
    }
    for (const auto& v : a.get_all("volume")) {
        auto vb = bundle::parse_volume(v);
        if (!vb) {
            report_error("unpack: " + vb.error().str());
            return 125;
        }
        o.bundle.volumes.push_back(*vb);
    }
    if (a.has("platform")) {
        auto p = spec::parse_platform(a.get("platform"));
        if (!p) {
            report_error("unpack: --platform: " + p.error().str());
            return 125;
        }
        o.platform = *p;
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("unpack: " + store.error().str());
        return 1;
    }
    std::string dir = pos[1];
    if (!dir.empty() && dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd)) dir = std::string(cwd) + "/" + dir;
    }
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    auto r = bundle::unpack_image(*store, pos[0], dir, o);
    if (!r) {
        report_error(r.error().str());
        return 1;
    }
    for (const auto& w : r->warnings)
        std::fprintf(stderr, "berth-image: warning: %s\n", w.c_str());
    return 0;
}

}  // namespace berth::image::cli
