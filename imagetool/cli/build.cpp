// berth-image build [-f Dockerfile] [-t NAME[:TAG]]... [--build-arg K=V]... [--target STAGE]
// [--network none|host] [--platform P] [--iidfile F] [--progress plain|tty] [registry flags]
// CONTEXT
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "base/args.hpp"
#include "base/file.hpp"
#include "imagetool/build/builder.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/registry_flags.hpp"
#include "imagetool/reference.hpp"

namespace berth::image::cli {
namespace {

// $BERTH, else `berth` next to this program (an installed pair), else in the build tree
// (imagetool/ and runtime/ side by side), else PATH.
std::string find_berth() {
    if (const char* e = std::getenv("BERTH"); e && *e) return e;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        std::string dir(self);
        dir = dir.substr(0, dir.rfind('/'));
        for (const char* rel : {"/berth", "/../runtime/berth"})
            if (access((dir + rel).c_str(), X_OK) == 0) return dir + rel;
    }
    return "berth";
}

std::string absolute(std::string p) {
    if (!p.empty() && p[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) p = std::string(cwd) + "/" + p;
    }
    while (p.size() > 1 && p.back() == '/')
        p.pop_back();
    return p;
}

}  // namespace

int cmd_build(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("file,f", "FILE", "the Dockerfile (default CONTEXT/Dockerfile)")
        .option("tag,t", "NAME[:TAG]", "name the image (repeatable)")
        .option("build-arg", "K=V", "value for an ARG (repeatable)")
        .option("target", "STAGE", "build this stage (name or index) instead of the last")
        .option("network", "none|host", "network of RUN steps (default none)", "none")
        .option("platform", "OS/ARCH", "accepted when it is this host's platform")
        .option("iidfile", "FILE", "write the image ID (sha256:<config digest>) to FILE")
        .option("progress", "plain|tty|auto", "how steps are shown (all print step lines)")
        .flag("no-cache", "run every step; do not look in the build cache")
        .flag("quiet,q", "print only the image digest")
        .flag("help,h", "show help");
    add_registry_flags(a, true);
    if (auto st = a.parse(argv); !st) {
        report_error("build: " + st.error().str());
        return 125;
    }
    const auto& pos = a.positionals();
    if (a.get_bool("help") || pos.size() != 1) {
        std::printf(
            "Usage: berth-image build [options] CONTEXT\n\n"
            "Builds an image from a Dockerfile: each RUN runs with berth in a snapshot of the\n"
            "image so far, each COPY/ADD copies from CONTEXT; prints the manifest digest.\n\n%s",
            a.help().c_str());
        return a.get_bool("help") ? 0 : 125;
    }
    build::BuildOptions o;
    o.context = absolute(pos[0]);
    o.dockerfile = a.has("file") ? a.get("file") : o.context + "/Dockerfile";
    o.quiet = a.get_bool("quiet");
    o.no_cache = a.get_bool("no-cache");
    o.berth = find_berth();
    o.target = a.get("target");
    std::string net = a.get("network");
    if (net != "none" && net != "host") {
        report_error("build: --network '" + net + "': expected none or host");
        return 125;
    }
    o.host_network = net == "host";
    if (a.has("platform"))
        if (auto st = build::check_platform(a.get("platform")); !st) {
            report_error("build: --platform: " + st.error().str());
            return 125;
        }
    if (a.has("progress")) {
        std::string p = a.get("progress");
        if (p != "plain" && p != "tty" && p != "auto") {
            report_error("build: --progress '" + p + "': expected plain, tty or auto");
            return 125;
        }
    }
    // Credentials are looked up per registry, when a pull needs them.
    o.registry = [&a](const std::string& registry) { return registry_options(a, registry, true); };
    for (const auto& t : a.get_all("tag")) {
        auto ref = Reference::parse(t);
        if (!ref) {
            report_error("build: --tag '" + t + "': " + ref.error().str());
            return 125;
        }
        o.tags.push_back(ref->str());
    }
    for (const auto& kv : a.get_all("build-arg")) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            // Docker takes a bare NAME from the environment.
            const char* v = std::getenv(kv.c_str());
            if (eq == 0 || !v) {
                report_error("build: --build-arg '" + kv + "': expected NAME=VALUE");
                return 125;
            }
            o.build_args[kv] = v;
            continue;
        }
        o.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("build: " + store.error().str());
        return 1;
    }
    // Caught, not fatal: dying here would leave the step's overlay mounted and the temporary
    // name in the index. No SA_RESTART, so a wait in progress returns and is retried.
    struct sigaction sa = {};
    sa.sa_handler = [](int) { build::interrupted = 1; };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    auto r = build::build_image(*store, o);
    if (!r) {
        report_error("build: " + r.error().str());
        return 1;
    }
    if (a.has("iidfile")) {
        // Docker's image ID is the config's digest, written without a newline.
        auto m = store->read_manifest(*r);
        Status st = m ? write_file_atomic(a.get("iidfile"), m->config.digest.str(), 0644)
                      : Status(m.error());
        if (!st) {
            report_error("build: --iidfile: " + st.error().str());
            return 1;
        }
    }
    std::printf("%s\n", r->digest.str().c_str());
    return 0;
}

}  // namespace berth::image::cli
