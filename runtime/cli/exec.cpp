// berth exec: run a new process in an existing container (runc's flags and exit codes).
#include <cstdlib>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/exec.hpp"

namespace berth::cli {

namespace {
constexpr const char* kUsage =
    "exec [command options] <container-id> <command> [args...]\n"
    "   berth exec [command options] -p process.json <container-id>";

// As runc: a failure of exec itself exits 255, so it is told apart from the status of the
// process (which is exec's own exit status otherwise).
constexpr int kExecFailed = 255;
}  // namespace

int cmd_exec(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("console-socket", "value",
             "path to an AF_UNIX socket which will receive a file descriptor referencing the "
             "master end of the console's pseudoterminal")
        .option("cwd", "value", "current working directory in the container")
        .option("env,e", "value", "set environment variables")
        .flag("tty,t", "allocate a pseudo-TTY")
        .option("user,u", "value", "UID (format: <uid>[:<gid>])")
        .option("additional-gids,g", "value", "additional gids")
        .option("process,p", "value", "path to the process.json")
        .flag("detach,d", "detach from the container's process")
        .option("pid-file", "value", "specify the file to write the process id to")
        .option("process-label", "value",
                "set the asm process label for the process commonly used with selinux")
        .option("apparmor", "value", "set the apparmor profile for the process")
        .flag("no-new-privs", "set the no new privileges value for the process")
        .option("cap,c", "value", "add a capability to the bounding set for the process")
        .option("preserve-fds", "value",
                "Pass N additional file descriptors to the container (stdio + N in total)", "0")
        .option("cgroup", "value",
                "run the process in an (existing) sub-cgroup(s). Format is "
                "[<controller>:]<cgroup>.")
        .flag("ignore-paused", "allow exec in a paused container");
    int status;
    // Everything after the container id is the command, flags included (runc's
    // SkipArgReorder): `berth exec c1 ls -l`.
    if (!parse_or_help(a, argv, kUsage, &status, true)) return status;
    const auto& pos = a.positionals();
    if (pos.empty()) return fail(error("\"exec\" requires a minimum of 1 argument(s)"));
    if (pos[0].empty()) return fail(error("container id cannot be empty"));

    runtime::ExecOptions o;
    o.root = g.root;
    o.id = pos[0];
    o.process_file = a.get("process");
    o.args.assign(pos.begin() + 1, pos.end());
    if (o.process_file.empty() && o.args.empty())
        return fail(error("process args cannot be empty"));
    if (!o.process_file.empty() && !o.args.empty())
        return fail(error("--process and a command are mutually exclusive"));
    o.cwd = a.get("cwd");
    o.env = a.get_all("env");
    o.tty = a.get_bool("tty");
    o.user = a.get("user");
    o.additional_gids = a.get_all("additional-gids");
    o.process_label = a.get("process-label");
    o.apparmor = a.get("apparmor");
    o.no_new_privs = a.get_bool("no-new-privs");
    o.caps = a.get_all("cap");
    o.console_socket = a.get("console-socket");
    o.pid_file = a.get("pid-file");
    o.detach = a.get_bool("detach");
    o.cgroups = a.get_all("cgroup");
    o.ignore_paused = a.get_bool("ignore-paused");
    std::string pf = a.get("preserve-fds");
    char* end;
    long n = std::strtol(pf.c_str(), &end, 10);
    if (pf.empty() || *end || n < 0 || n > 65536)
        return fail(error("invalid value \"" + pf + "\" for flag -preserve-fds"));
    o.preserve_fds = int(n);

    auto r = runtime::exec_container(o);
    if (!r) {
        fail(r.error().with_context("exec failed"));
        return kExecFailed;
    }
    return *r;
}

}  // namespace berth::cli
