// berth-image commit [--message M] [--author A] [--change INSTR]... [--compress gzip|zstd|none]
//                    BUNDLE NAME[:TAG]
#include <unistd.h>

#include <cstdio>

#include "base/args.hpp"
#include "imagetool/bundle/commit.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/layer/compress.hpp"
#include "imagetool/reference.hpp"

namespace berth::image::cli {

int cmd_commit(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("message,m", "TEXT", "history entry's created_by (default 'berth-image commit')")
        .option("author,a", "NAME", "author of the image and of the history entry")
        .option("change,c", "INSTR",
                "config change: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR (repeatable)")
        .option("compress", "gzip|zstd|none", "layer compression", "gzip")
        .flag("quiet,q", "print nothing")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("commit: " + st.error().str());
        return 125;
    }
    const auto& pos = a.positionals();
    if (a.get_bool("help") || pos.size() != 2) {
        std::printf(
            "Usage: berth-image commit [options] BUNDLE NAME[:TAG]\n\n"
            "Stores what the container changed in BUNDLE's rootfs as one new layer on top of\n"
            "the image the bundle was unpacked from, as the image NAME.\n\n%s",
            a.help().c_str());
        return a.get_bool("help") ? 0 : 125;
    }
    auto ref = Reference::parse(pos[1]);
    if (!ref) {
        report_error("commit: " + ref.error().str());
        return 125;
    }
    bundle::CommitOptions o;
    o.message = a.get("message");
    o.author = a.get("author");
    o.changes = a.get_all("change");
    auto comp = layer::parse_compression(a.get("compress"));
    if (!comp) {
        report_error("commit: --compress: " + comp.error().str());
        return 125;
    }
    o.compression = *comp;
    std::string dir = pos[0];
    if (!dir.empty() && dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd)) dir = std::string(cwd) + "/" + dir;
    }
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    auto store = Store::open(g.store);
    if (!store) {
        report_error("commit: " + store.error().str());
        return 1;
    }
    auto r = bundle::commit_bundle(*store, dir, ref->str(), o);
    if (!r) {
        report_error("commit '" + pos[0] + "': " + r.error().str());
        return 1;
    }
    if (!a.get_bool("quiet")) std::printf("%s\n", r->manifest.digest.str().c_str());
    return 0;
}

}  // namespace berth::image::cli
