// libFuzzer target: WWW-Authenticate headers, which come from whatever registry (or proxy)
// answers a pull.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "imagetool/registry/auth_challenge.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)berth::image::parse_challenges(text);
    return 0;
}
