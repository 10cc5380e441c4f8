// Commands whose implementation has not landed yet: they fail loudly rather than pretend.
// Each one moves to its own file (pull.cpp, unpack.cpp, ...) when it is implemented.
#include "imagetool/cli/commands.hpp"

namespace berth::image::cli {
namespace {
[[maybe_unused]] int pending(const char* name) {
    report_error(std::string("command '") + name + "' is not implemented yet");
    return 125;
}
}  // namespace

#define BERTH_PENDING(fn, name)                                     \
    int fn(const GlobalOptions&, const std::vector<std::string>&) { \
        return pending(name);                                       \
    }

}  // namespace berth::image::cli
