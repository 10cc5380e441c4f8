// Container lifecycle operations behind the commands: create, start, run, kill, delete, and
// the read-only views (state, list, ps). Each takes the --root and an id and returns Result.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

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
    pid_t pid = 0;
    UniqueFd console;  // foreground terminal: the pty master
};

Result<Created> create_container(const CreateOptions& o);
Status start_container(const std::string& root, const std::string& id);
// create + start; in the foreground waits and returns the container's exit status
// (128+signal when killed), deleting it afterwards unless keep.
Result<int> run_container(const CreateOptions& o, bool detach, bool keep);
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
