// berth: entry point; global flags, then one command.
#include <seccomp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/args.hpp"
#include "base/log.hpp"
#include "spec/runtime_config.hpp"

namespace {

void print_version() {
    const struct scmp_version* v = seccomp_version();
    std::printf("berth version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", BERTH_VERSION,
                berth::spec::kRuntimeSpecVersion, v->major, v->minor, v->micro);
}

void print_help(const berth::Args& globals) {
    std::printf(
        "NAME:\n   berth - an OCI container runtime\n\n"
        "USAGE:\n   berth [global options] command [command options] [arguments...]\n\n"
        "VERSION:\n   %s\n\n"
        "COMMANDS:\n"
        "   checkpoint  (not supported)\n"
        "   create      create a container\n"
        "   delete      delete any resources held by the container\n"
        "   events      display container events such as OOM notifications and stats\n"
        "   exec        execute new process inside the container\n"
        "   features    show the enabled features\n"
        "   kill        kill sends the specified signal to the container's init process\n"
        "   list        lists containers started by berth with the given root\n"
        "   pause       pause suspends all processes inside the container\n"
        "   ps          ps displays the processes running inside a container\n"
        "   resume      resumes all processes that have been previously paused\n"
        "   run         create and run a container\n"
        "   spec        create a new specification file\n"
        "   start       executes the user defined process in a created container\n"
        "   state       output the state of a container\n"
        "   update      update container resource constraints\n\n"
        "GLOBAL OPTIONS:\n%s",
        BERTH_VERSION, globals.help().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    berth::Args g;
    g.flag("debug", "enable debug logging")
        .option("log", "value", "set the log file to write berth logs to (default is stderr)")
        .option("log-format", "value", "set the log format ('text' or 'json')", "text")
        .option("root", "value", "root directory for storage of container state", "/run/berth")
        .option("criu", "value", "accepted for compatibility; checkpoint is not supported")
        .flag("systemd-cgroup", "enable systemd cgroup support")
        .option("rootless", "value", "ignore cgroup permission errors ('true', 'false', or 'auto')",
                "auto")
        .flag("version,v", "print the version")
        .flag("help,h", "show help");
    std::vector<std::string> args(argv + 1, argv + argc);
    if (auto st = g.parse(args, true); !st) {
        std::fprintf(stderr, "berth: %s\n", st.error().str().c_str());
        return 1;
    }
    if (g.get_bool("version")) {
        print_version();
        return 0;
    }
    if (g.get_bool("help") || g.positionals().empty()) {
        print_help(g);
        return 0;
    }
    std::fprintf(stderr, "berth: unknown command '%s'\n", g.positionals()[0].c_str());
    return 1;
}
