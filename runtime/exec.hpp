// berth exec: a new process in an existing container, joining its namespaces and cgroup and
// confined like its init (capabilities, rlimits, seccomp, LSM label, no_new_privs).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime {

struct ExecOptions {
    std::string root;
    std::string id;
    // --process: a runtime-spec Process object. Without it, config.json's process with args
    // and the overrides below (runc's getProcess); with it, the overrides given still apply.
    std::string process_file;
    std::vector<std::string> args;
    std::string cwd;
    std::vector<std::string> env;  // NAME=VALUE; replaces a variable of the same name
    bool tty = false;
    std::string user;                          // uid[:gid]
    std::vector<std::string> additional_gids;  // appended to the process's
    std::string process_label;
    std::string apparmor;
    bool no_new_privs = false;
    std::vector<std::string> caps;  // added to bounding, effective, permitted (never inheritable)

    std::string console_socket;
    std::string pid_file;
    bool detach = false;
    int preserve_fds = 0;
    std::vector<std::string> cgroups;  // --cgroup [controller[,controller]:]path
    bool ignore_paused = false;
};

// The process to run: base (config.json's process, or the --process file when from_file)
// with the overrides of o applied. Errors name the flag.
Result<spec::Process> exec_process(spec::Process base, const ExecOptions& o, bool from_file);

// --cgroup values -> controller ("" for every hierarchy) -> path under the container's cgroup.
Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& args);

// Runs the process. In the foreground returns its exit status (128+signal when killed); with
// detach returns 0 once it has exec'd. Any failure up to and including execve is an error.
Result<int> exec_container(const ExecOptions& o);

}  // namespace berth::runtime
