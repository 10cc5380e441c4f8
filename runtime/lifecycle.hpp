// Container lifecycle operations behind the commands: create, start, run, kill, delete, and
// the read-only views (state, list, ps). Each takes the --root and an id and returns Result.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/child_process.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "runtime/container.hpp"

namespace berth::runtime {

struct CreateOptions {
    std::string root;
    std::string id;
    std::string bundle;  // default: current directory
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    bool systemd_cgroup = false;
    // `run` in the foreground: a terminal is relayed by berth instead of a console socket.
    bool foreground = false;
};

struct Created {
    ChildProcess init;  // berth's child until berth exits
    UniqueFd console;   // foreground terminal: the pty master
};

Result<Created> create_container(const CreateOptions& o);
Status start_container(const std::string& root, const std::string& id);
// create + start; in the foreground waits and returns the container's exit status
// (128+signal when killed), deleting it afterwards unless keep.
Result<int> run_container(const CreateOptions& o, bool detach, bool keep);
// The foreground half of `run` and `exec`. With `sigs` (relayed_signals()) blocked since
// before the clone, so that none is lost, relays them to pid, and the terminal's input,
// output and window size when console is a pty master, until pid exits. Returns its exit
// status in the shell's convention (128+signal when killed).
sigset_t relayed_signals();
Result<int> wait_foreground(pid_t pid, UniqueFd console, const sigset_t& sigs);

Status kill_container(const std::string& root, const std::string& id, int sig, bool all);
Status delete_container(const std::string& root, const std::string& id, bool force);

struct StateView {
    ContainerState state;
    RunStatus status;
    std::string owner;  // user owning the state directory (list's OWNER column)
};
Result<StateView> container_state(const std::string& root, const std::string& id);
std::vector<StateView> list_containers(const std::string& root);
// Pids of every process of the container (host view).
Result<std::vector<pid_t>> container_pids(const std::string& root, const std::string& id);

// "KILL", "SIGKILL", "9", "sigkill" -> 9; error otherwise.
Result<int> parse_signal(const std::string& s);

}  // namespace berth::runtime
