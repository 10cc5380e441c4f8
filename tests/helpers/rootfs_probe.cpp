// rootfs_probe: a test driver for the rootfs code alone. It reads a bundle's config.json,
// plans the rootfs in the parent, creates the namespaces the config asks for (new ones only) in
// a child, runs setup_rootfs there and execs process.args (or the command after "--").
//   rootfs_probe [--no-pivot] [--console] BUNDLE [-- CMD ARGS...]
// Not installed; the Bats tests use it until `berth run` drives the same code.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "runtime/linux/rootfs.hpp"

using namespace berth;
namespace rl = berth::runtime::linux_;

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "rootfs_probe: %s\n", msg.c_str());
    _exit(1);
}

std::string maps_text(const std::vector<spec::IDMapping>& m) {
    std::string s;
    for (auto& e : m)
        s += std::to_string(e.container_id) + " " + std::to_string(e.host_id) + " " +
             std::to_string(e.size) + "\n";
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    bool no_pivot = false, console = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && std::strcmp(argv[i], "--") != 0; ++i) {
        if (!std::strcmp(argv[i], "--no-pivot"))
            no_pivot = true;
        else if (!std::strcmp(argv[i], "--console"))
            console = true;
        else
            die(std::string("unknown flag ") + argv[i]);
    }
    if (i >= argc) die("usage: rootfs_probe [--no-pivot] [--console] BUNDLE [-- CMD...]");
    std::string bundle = argv[i++];
    char real[4096];
    if (!realpath(bundle.c_str(), real)) die("bundle: " + std::string(std::strerror(errno)));
    bundle = real;
    std::vector<std::string> cmd;
    if (i < argc && !std::strcmp(argv[i], "--")) ++i;
    for (; i < argc; ++i)
        cmd.push_back(argv[i]);

    auto spec = spec::load_config(bundle + "/config.json");
    if (!spec) die(spec.error().str());
    if (cmd.empty() && spec->process) cmd = spec->process->args;
    if (cmd.empty()) die("no command");
    auto plan = rl::plan_rootfs(*spec, bundle);
    if (!plan) die(plan.error().str());

    int flags = 0;
    bool userns = false;
    if (spec->linux_) {
        for (auto& ns : spec->linux_->namespaces) {
            if (!ns.path.empty()) continue;
            if (ns.type == "mount")
                flags |= CLONE_NEWNS;
            else if (ns.type == "pid")
                flags |= CLONE_NEWPID;
            else if (ns.type == "uts")
                flags |= CLONE_NEWUTS;
            else if (ns.type == "ipc")
                flags |= CLONE_NEWIPC;
            else if (ns.type == "network")
                flags |= CLONE_NEWNET;
            else if (ns.type == "cgroup")
                flags |= CLONE_NEWCGROUP;
            else if (ns.type == "user")
                userns = true;
        }
    }
    flags |= CLONE_NEWNS;  // setup_rootfs always runs in a mount namespace of its own

    int console_slave = -1;
    if (console) {
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("openpt");
        console_slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (console_slave < 0) die("open pty slave");
    }

    int to_child[2], to_parent[2];
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(to_parent, O_CLOEXEC) < 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        char c = 0;
        if (userns) {
            if (unshare(CLONE_NEWUSER) < 0) die("unshare user");
            if (write(to_parent[1], "u", 1) != 1 || read(to_child[0], &c, 1) != 1 || c != 'm')
                die("user namespace maps");
            if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root in userns");
        }
        if (unshare(flags) < 0) die(std::string("unshare: ") + std::strerror(errno));
        pid_t init = fork();
        if (init < 0) die("fork init");
        if (init == 0) {
            rl::RootfsContext ctx;
            ctx.no_pivot = no_pivot;
            ctx.console_slave_fd = console_slave;
            ctx.in_user_namespace = userns;
            ctx.new_cgroup_namespace = (flags & CLONE_NEWCGROUP) != 0;
            auto st = rl::setup_rootfs(**plan, ctx);
            if (!st) die(st.error().str());
            if ((flags & CLONE_NEWUTS) && !spec->hostname.empty())
                sethostname(spec->hostname.c_str(), spec->hostname.size());
            std::vector<char*> av;
            for (auto& a : cmd)
                av.push_back(a.data());
            av.push_back(nullptr);
            execvp(av[0], av.data());
            die("exec " + cmd[0] + ": " + std::strerror(errno));
        }
        int status = 0;
        while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    if (userns) {
        char c = 0;
        if (read(to_parent[0], &c, 1) != 1 || c != 'u') die("child failed before user namespace");
        std::string p = "/proc/" + std::to_string(child);
        auto& l = *spec->linux_;
        if (!write_file(p + "/uid_map", maps_text(l.uid_mappings)) ||
            !write_file(p + "/gid_map", maps_text(l.gid_mappings))) {
            kill(child, SIGKILL);
            die("write id maps");
        }
        if (write(to_child[1], "m", 1) != 1) die("sync");
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
