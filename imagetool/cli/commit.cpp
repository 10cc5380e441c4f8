// berth-image commit [--message M] [--author A] [--change INSTR]... [--compress gzip|zstd|none]
//                    BUNDLE NAME[:TAG]
#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

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
        .option("config.cmd", "ARG", "umoci's form: one CMD argument (repeatable, in order)")
        .option("config.entrypoint", "ARG", "umoci's form: one ENTRYPOINT argument (repeatable)")
        .option("config.env", "K=V", "umoci's form: set an environment variable (repeatable)")
        .option("config.label", "K=V", "umoci's form: set a label (repeatable)")
        .option("config.workingdir", "DIR", "umoci's form: the working directory")
        .option("config.user", "USER[:GROUP]", "umoci's form: the user")
        .option("config.exposedports", "PORT[/PROTO]", "umoci's form: expose a port (repeatable)")
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
    // umoci config's flags, as the same change lines (values quoted, arrays as JSON).
    auto quoted = [](const std::string& kv) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) return kv;  // apply_config_change names the mistake
        std::string v;
        for (char ch : kv.substr(eq + 1)) {
            if (ch == '"' || ch == '\\') v += '\\';
            v += ch;
        }
        return kv.substr(0, eq + 1) + "\"" + v + "\"";
    };
    if (auto args = a.get_all("config.cmd"); !args.empty())
        o.changes.push_back("CMD " + nlohmann::json(args).dump());
    if (auto args = a.get_all("config.entrypoint"); !args.empty())
        o.changes.push_back("ENTRYPOINT " + nlohmann::json(args).dump());
    for (const auto& kv : a.get_all("config.env"))
        o.changes.push_back("ENV " + quoted(kv));
    for (const auto& kv : a.get_all("config.label"))
        o.changes.push_back("LABEL " + quoted(kv));
    if (!a.get("config.workingdir").empty())
        o.changes.push_back("WORKDIR " + a.get("config.workingdir"));
    if (!a.get("config.user").empty()) o.changes.push_back("USER " + a.get("config.user"));
    for (const auto& p : a.get_all("config.exposedports"))
        o.changes.push_back("EXPOSE " + p);
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
