// berth-image: entry point; global flags, then one command.
#include <limits.h>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/args.hpp"
#include "berth_commit.h"
#include "imagetool/cli/commands.hpp"

namespace berth::image::cli {
void report_error(const std::string& msg) {
    std::fprintf(stderr, "berth-image: %s\n", msg.c_str());
}
}  // namespace berth::image::cli

namespace {

struct Command {
    const char* name;
    berth::image::cli::CommandFn fn;
};
namespace c = berth::image::cli;
constexpr Command kCommands[] = {
    {"pull", c::cmd_pull},       {"push", c::cmd_push},     {"images", c::cmd_images},
    {"inspect", c::cmd_inspect}, {"tag", c::cmd_tag},       {"rm", c::cmd_rm},
    {"gc", c::cmd_gc},           {"login", c::cmd_login},   {"logout", c::cmd_logout},
    {"unpack", c::cmd_unpack},   {"import", c::cmd_import}, {"umount", c::cmd_umount},
    {"copy", c::cmd_copy},       {"save", c::cmd_save},     {"load", c::cmd_load},
    {"commit", c::cmd_commit},   {"build", c::cmd_build},
};

std::string default_store() {
    if (geteuid() == 0) return "/var/lib/berth";
    std::string base;
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
        base = x;
    else if (const char* h = std::getenv("HOME"); h && *h)
        base = std::string(h) + "/.local/share";
    else
        return "/var/lib/berth";
    // 0.1.0 kept a user's store in <base>/berth: such a store stays in use until one exists
    // under the new name (moving it is the user's call: `mv berth berth-image`).
    std::string now = base + "/berth-image", old = base + "/berth";
    struct stat st;
    if (lstat(now.c_str(), &st) < 0 && errno == ENOENT &&
        lstat((old + "/oci-layout").c_str(), &st) == 0)
        return old;
    return now;
}

void print_help(const berth::Args& globals) {
    std::printf(
        "Usage: berth-image [global options] COMMAND [options] [arguments]\n\n"
        "Pull, store, unpack and run OCI images with berth.\n\n"
        "Commands:\n"
        "  pull REF          pull an image from a registry into the store\n"
        "  push NAME [DST]   push an image from the store to a registry\n"
        "  copy SRC DST      copy an image between transports (docker://, oci:,\n"
        "                    oci-archive:, docker-archive:, berth:)\n"
        "  save NAME FILE    write an image to an oci-archive or docker-archive\n"
        "  load FILE         read an oci-archive or docker-archive into the store\n"
        "  images            list images in the store\n"
        "  inspect REF       show an image's config and manifest\n"
        "  tag SRC DST       give an image another name\n"
        "  rm REF            remove an image name\n"
        "  gc                remove unreferenced blobs\n"
        "  login REGISTRY    store credentials\n"
        "  logout REGISTRY   remove stored credentials\n"
        "  import SRC REF    make a one-layer image from a directory or tar\n"
        "  unpack REF DIR    write a runtime bundle\n"
        "  commit BUNDLE NAME  store a container's changes as a new image layer\n"
        "  build CONTEXT     build an image from a Dockerfile\n\n"
        "Global options:\n%s",
        globals.help().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    berth::Args g;
    g.option("store", "DIR", "image store (default /var/lib/berth, or $XDG_DATA_HOME/berth-image)")
        .flag("debug", "enable debug logging")
        .flag("version,v", "print the version")
        .flag("help,h", "show help");
    std::vector<std::string> args(argv + 1, argv + argc);
    if (auto st = g.parse(args, true); !st) {
        std::fprintf(stderr, "berth-image: %s\n", st.error().str().c_str());
        return 125;
    }
    if (g.get_bool("version")) {
        std::printf("berth-image version %s\ncommit: %s\n", BERTH_VERSION, BERTH_COMMIT);
        return 0;
    }
    if (g.get_bool("help") || g.positionals().empty()) {
        print_help(g);
        return 0;
    }
    c::GlobalOptions opts;
    opts.store = g.has("store") ? g.get("store") : default_store();
    // An absolute store path: build runs berth with its own working directory, and a relative
    // --store would then name another directory ("blob ... is missing" at the first RUN).
    if (!opts.store.empty() && opts.store[0] != '/') {
        char cwd[PATH_MAX];
        if (::getcwd(cwd, sizeof cwd)) opts.store = std::string(cwd) + "/" + opts.store;
    }
    opts.debug = g.get_bool("debug");
    const std::string& name = g.positionals()[0];
    std::vector<std::string> rest(g.positionals().begin() + 1, g.positionals().end());
    for (const auto& cmd : kCommands)
        if (name == cmd.name) return cmd.fn(opts, rest);
    c::report_error("unknown command '" + name + "'");
    return 125;
}
