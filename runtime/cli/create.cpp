// berth create: make the container and leave its init waiting for `start`.
#include <cstdlib>

#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

// Flags create and run share (runc's names).
void add_create_flags(Args& a) {
    a.option("bundle,b", "value", "path to the root of the bundle directory, defaults to the current directory")
        .option("console-socket", "value", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
        .option("pid-file", "value", "specify the file to write the process id to")
        .flag("no-pivot", "do not use pivot root to jail process inside rootfs")
        .flag("no-new-keyring", "do not create a new session keyring for the container")
        .option("preserve-fds", "value", "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", "0");
}

Result<runtime::CreateOptions> create_options(const GlobalOptions& g, const Args& a,
                                              const std::string& id) {
    runtime::CreateOptions o;
    o.root = g.root;
    o.id = id;
    o.bundle = a.get("bundle");
    o.pid_file = a.get("pid-file");
    o.console_socket = a.get("console-socket");
    o.no_pivot = a.get_bool("no-pivot");
    o.no_new_keyring = a.get_bool("no-new-keyring");
    o.systemd_cgroup = g.systemd_cgroup;
    std::string pf = a.get("preserve-fds");
    char* end;
    long n = std::strtol(pf.c_str(), &end, 10);
    if (pf.empty() || *end || n < 0 || n > 65536)
        return error("invalid value \"" + pf + "\" for flag -preserve-fds");
    o.preserve_fds = int(n);
    return o;
}

int cmd_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    add_create_flags(a);
    int status;
    if (!parse_or_help(a, argv, "create [command options] <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "create");
    if (!id) return fail(id.error());
    auto o = create_options(g, a, *id);
    if (!o) return fail(o.error());
    auto c = runtime::create_container(*o);
    if (!c) return fail(c.error());
    return 0;
}

}  // namespace berth::cli
