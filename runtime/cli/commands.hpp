// The berth commands: each parses its own flags and calls into the runtime library.
#pragma once

#include <string>
#include <vector>

namespace berth::cli {

// runc's global flags, parsed once in main.
struct GlobalOptions {
    std::string root = "/run/berth";
    std::string log;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
    std::string rootless = "auto";
};

// Each command gets the arguments after its name and returns the process exit status.
// Failures print one line ("berth: ...") via report_error and return non-zero.
using CommandFn = int (*)(const GlobalOptions&, const std::vector<std::string>&);

int cmd_create(const GlobalOptions&, const std::vector<std::string>&);
int cmd_start(const GlobalOptions&, const std::vector<std::string>&);
int cmd_run(const GlobalOptions&, const std::vector<std::string>&);
int cmd_state(const GlobalOptions&, const std::vector<std::string>&);
int cmd_kill(const GlobalOptions&, const std::vector<std::string>&);
int cmd_delete(const GlobalOptions&, const std::vector<std::string>&);
int cmd_list(const GlobalOptions&, const std::vector<std::string>&);
int cmd_ps(const GlobalOptions&, const std::vector<std::string>&);
int cmd_spec(const GlobalOptions&, const std::vector<std::string>&);
int cmd_exec(const GlobalOptions&, const std::vector<std::string>&);
int cmd_update(const GlobalOptions&, const std::vector<std::string>&);
int cmd_pause(const GlobalOptions&, const std::vector<std::string>&);
int cmd_resume(const GlobalOptions&, const std::vector<std::string>&);
int cmd_events(const GlobalOptions&, const std::vector<std::string>&);
int cmd_features(const GlobalOptions&, const std::vector<std::string>&);

// Prints "berth: <msg>" to stderr and, when --log is set, an error line to the log.
void report_error(const std::string& msg);

}  // namespace berth::cli
