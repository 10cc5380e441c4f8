// Mapping-only user namespaces for idmapped mounts. Made in the runtime's parent before clone:
// the maps are written by a process outside the namespace, which is what lets them name any
// host id.
#include "runtime/linux/mounts_idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "base/file.hpp"

namespace berth::runtime::linux_ {
std::string map_text(const std::vector<spec::IDMapping>& m) {
    std::string s;
    for (const auto& e : m)
        s += std::to_string(e.container_id) + " " + std::to_string(e.host_id) + " " +
             std::to_string(e.size) + "\n";
    return s;
}

Result<UniqueFd> make_mapping_userns(const std::vector<spec::IDMapping>& uids,
                                     const std::vector<spec::IDMapping>& gids) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(ready[0]), wr(ready[1]);
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) {
        // Child: only async-signal-safe calls until _exit.
        rd.reset();
        char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(wr.get(), &c, 1) != 1) _exit(1);
        wr.reset();
        for (;;)
            pause();
    }
    wr.reset();
    auto reap = [pid] {
        kill(pid, SIGKILL);
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    };
    char c = 0;
    if (read(rd.get(), &c, 1) != 1 || c != 'y') {
        reap();
        return error("idmap: cannot create a user namespace");
    }
    std::string proc = "/proc/" + std::to_string(pid);
    Status st = write_file(proc + "/uid_map", map_text(uids));
    if (st) st = write_file(proc + "/gid_map", map_text(gids));
    if (!st) {
        reap();
        return std::move(st).error().with_context("idmap: write id maps");
    }
    UniqueFd ns(open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    int err = errno;
    reap();
    if (!ns) return Error::sys(err, "idmap: open user namespace");
    return ns;
}

}  // namespace berth::runtime::linux_
