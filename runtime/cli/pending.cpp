// Commands whose implementation has not landed yet: they fail loudly rather than pretend.
// Each one moves to its own file (create.cpp, update.cpp, ...) when it is implemented.
#include "runtime/cli/commands.hpp"

namespace berth::cli {
namespace {
int pending(const char* name) {
    report_error(std::string("command '") + name + "' is not implemented yet");
    return 1;
}
}  // namespace

#define BERTH_PENDING(fn, name)                                     \
    int fn(const GlobalOptions&, const std::vector<std::string>&) { \
        return pending(name);                                       \
    }
BERTH_PENDING(cmd_exec, "exec")

}  // namespace berth::cli
