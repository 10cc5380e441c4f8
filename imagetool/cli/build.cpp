// berth-image build [-f Dockerfile] [-t NAME[:TAG]]... [--build-arg K=V]... [--no-cache] CONTEXT
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "base/args.hpp"
#include "imagetool/build/builder.hpp"
#include "imagetool/cli/commands.hpp"
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
        .flag("no-cache", "run every step; do not look in the build cache")
        .flag("quiet,q", "print only the image digest")
        .flag("help,h", "show help");
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
    std::printf("%s\n", r->digest.str().c_str());
    return 0;
}

}  // namespace berth::image::cli
