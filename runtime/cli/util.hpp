// Helpers the command files share: one-line failure, argument-count checks, --help.
#pragma once

#include <string>
#include <vector>

#include "base/args.hpp"
#include "base/result.hpp"

namespace berth::cli {

// Prints the error as one line and returns the exit status 1.
int fail(const Error& e);
// Parses flags; on error prints it. Returns false if the command should stop (error or --help,
// with *status set to its exit code).
bool parse_or_help(Args& a, const std::vector<std::string>& argv, const char* usage, int* status,
                   bool stop_at_positional = false);
// runc's `"start" requires exactly 1 argument(s)` check.
Result<std::string> exactly_one_id(const Args& a, const char* cmd);

}  // namespace berth::cli
