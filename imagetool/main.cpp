// berth-image: entry point; global flags, then one command.
#include <cstdio>
#include <string>
#include <vector>

#include "base/args.hpp"

namespace {

void print_help(const berth::Args& globals) {
    std::printf(
        "Usage: berth-image [global options] COMMAND [options] [arguments]\n\n"
        "Pull, store, unpack and run OCI images with berth.\n\n"
        "Commands:\n"
        "  pull REF          pull an image from a registry into the store\n"
        "  images            list images in the store\n"
        "  inspect REF       show an image's config and manifest\n"
        "  tag SRC DST       give an image another name\n"
        "  rm REF            remove an image name\n"
        "  gc                remove unreferenced blobs\n"
        "  login REGISTRY    store credentials\n"
        "  logout REGISTRY   remove stored credentials\n"
        "  import SRC REF    make a one-layer image from a directory or tar\n"
        "  unpack REF DIR    write a runtime bundle\n\n"
        "Global options:\n%s",
        globals.help().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    berth::Args g;
    g.option("store", "DIR", "image store (default /var/lib/berth, or $XDG_DATA_HOME/berth)")
        .flag("debug", "enable debug logging")
        .flag("version,v", "print the version")
        .flag("help,h", "show help");
    std::vector<std::string> args(argv + 1, argv + argc);
    if (auto st = g.parse(args, true); !st) {
        std::fprintf(stderr, "berth-image: %s\n", st.error().str().c_str());
        return 125;
    }
    if (g.get_bool("version")) {
        std::printf("berth-image version %s\n", BERTH_VERSION);
        return 0;
    }
    if (g.get_bool("help") || g.positionals().empty()) {
        print_help(g);
        return 0;
    }
    std::fprintf(stderr, "berth-image: unknown command '%s'\n", g.positionals()[0].c_str());
    return 125;
}
