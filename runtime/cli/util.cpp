// Shared command-line helpers.
#include "runtime/cli/util.hpp"

#include <cstdio>

#include "runtime/cli/commands.hpp"

namespace berth::cli {

int fail(const Error& e) {
    report_error(e.str());
    return 1;
}

bool parse_or_help(Args& a, const std::vector<std::string>& argv, const char* usage, int* status,
                   bool stop_at_positional) {
    a.flag("help,h", "show help");
    if (auto st = a.parse(argv, stop_at_positional); !st) {
        *status = fail(st.error());
        return false;
    }
    if (a.get_bool("help")) {
        std::printf("USAGE:\n   berth %s\n\nOPTIONS:\n%s", usage, a.help().c_str());
        *status = 0;
        return false;
    }
    return true;
}

Result<std::string> exactly_one_id(const Args& a, const char* cmd) {
    if (a.positionals().size() != 1)
        return error(std::string("\"") + cmd + "\" requires exactly 1 argument(s)");
    if (a.positionals()[0].empty()) return error("container id cannot be empty");
    return a.positionals()[0];
}

}  // namespace berth::cli
