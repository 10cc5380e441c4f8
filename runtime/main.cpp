// berth: entry point; global flags, then one command.
#include <seccomp.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/args.hpp"
#include "base/log.hpp"
#include "berth_commit.h"
#include "runtime/cli/commands.hpp"
#include "runtime/linux/cloned_binary.hpp"
#include "runtime/rootless.hpp"
#include "spec/runtime_config.hpp"

namespace berth::cli {
void report_error(const std::string& msg) {
    // One line however many the message holds (a hook's stderr): newlines as runc's text
    // log writes them, "\n".
    std::string line;
    for (char c : msg) {
        if (c == '\n')
            line += "\\n";
        else if (c == '\r')
            line += "\\r";
        else
            line += c;
    }
    std::fprintf(stderr, "berth: %s\n", line.c_str());
    // With --log the same line goes to the log too, in its format (containerd reads the last
    // error line of the file the shim named).
    if (log::has_file()) log::error(msg);
}
}  // namespace berth::cli

namespace {

struct Command {
    const char* name;
    berth::cli::CommandFn fn;
};
constexpr Command kCommands[] = {
    {"create", berth::cli::cmd_create},     {"start", berth::cli::cmd_start},
    {"run", berth::cli::cmd_run},           {"state", berth::cli::cmd_state},
    {"kill", berth::cli::cmd_kill},         {"delete", berth::cli::cmd_delete},
    {"list", berth::cli::cmd_list},         {"ps", berth::cli::cmd_ps},
    {"spec", berth::cli::cmd_spec},         {"exec", berth::cli::cmd_exec},
    {"update", berth::cli::cmd_update},     {"pause", berth::cli::cmd_pause},
    {"resume", berth::cli::cmd_resume},     {"events", berth::cli::cmd_events},
    {"features", berth::cli::cmd_features},
};

void print_version() {
    const struct scmp_version* v = seccomp_version();
    // runc's lines in runc's order: engines (docker info, podman info) parse them.
    std::printf("berth version %s\ncommit: %s\nspec: %s\nlibseccomp: %u.%u.%u\n", BERTH_VERSION,
                BERTH_COMMIT, berth::spec::kRuntimeSpecVersion, v->major, v->minor, v->micro);
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
    // An ignored SIGCHLD survives execve, and with it the kernel reaps berth's children
    // itself: no wait would see stage1 or the init exit. Whoever started berth decides
    // nothing about that.
    ::signal(SIGCHLD, SIG_DFL);
    berth::Args g;
    g.flag("debug", "enable debug logging")
        .option("log", "value", "set the log file to write berth logs to (default is stderr)")
        .option("log-format", "value", "set the log format ('text' or 'json')", "text")
        .option("root", "value",
                "root directory for storage of container state (rootless: "
                "$XDG_RUNTIME_DIR/berth)",
                "/run/berth")
        .option("criu", "value", "accepted for compatibility; checkpoint is not supported")
        .flag("systemd-cgroup", "enable systemd cgroup support")
        .option("rootless", "value",
                "run without privilege: no cgroup unless limits ask for a delegated one, id maps "
                "through newuidmap ('true', 'false', or 'auto')",
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
    const std::string& command = g.positionals()[0];
    // CVE-2019-5736: commands that put a fork of berth inside a container run from a copy no
    // one can write (a read-only detached mount, else a sealed memfd), so the host binary is
    // never the exe of a process a container can reach.
    if ((command == "create" || command == "run" || command == "exec") &&
        !berth::runtime::linux_::running_protected()) {
        auto st = berth::runtime::linux_::reexec_protected(argc, argv);
        std::fprintf(stderr, "berth: %s\n", st.error().str().c_str());
        return 1;
    }
    berth::cli::GlobalOptions opts;
    opts.rootless = g.get("rootless");
    if (auto st = berth::runtime::rootless::set_mode(opts.rootless); !st) {
        std::fprintf(stderr, "berth: %s\n", st.error().str().c_str());
        return 1;
    }
    opts.root = g.has("root") ? g.get("root") : berth::runtime::rootless::default_state_root();
    opts.log = g.get("log");
    opts.log_format = g.get("log-format");
    opts.debug = g.get_bool("debug");
    opts.systemd_cgroup = g.get_bool("systemd-cgroup");
    if (opts.log_format != "text" && opts.log_format != "json") {
        std::fprintf(stderr, "berth: unknown log-format '%s'\n", opts.log_format.c_str());
        return 1;
    }
    if (!berth::log::init(
            opts.log,
            opts.log_format == "json" ? berth::log::Format::json : berth::log::Format::text,
            opts.debug)) {
        std::fprintf(stderr, "berth: open log file '%s': %s\n", opts.log.c_str(),
                     std::strerror(errno));
        return 1;
    }
    std::string name = g.positionals()[0];
    std::vector<std::string> rest(g.positionals().begin() + 1, g.positionals().end());
    // runc's `help [COMMAND]` (alias `h`): the global usage, or COMMAND's as `COMMAND -h`.
    if (name == "help" || name == "h") {
        if (rest.empty()) {
            print_help(g);
            return 0;
        }
        name = rest[0];
        rest = {"--help"};
    }
    bool help = !rest.empty() && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "-help");
    if ((name == "checkpoint" || name == "restore") && help) {
        std::printf(
            "USAGE:\n   berth %s [command options] <container-id>\n\n"
            "   not supported: CRIU cannot run on every kernel berth supports\n",
            name.c_str());
        return 0;
    }
    for (const auto& c : kCommands)
        if (name == c.name) return c.fn(opts, rest);
    berth::cli::report_error("unknown command '" + name + "'");
    return 1;
}
