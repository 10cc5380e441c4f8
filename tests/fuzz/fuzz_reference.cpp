// libFuzzer target: image references as users and engines type them, and registry names.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "imagetool/reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto r = berth::image::Reference::parse(text)) {
        // A parsed reference prints back to text that parses to the same thing.
        auto again = berth::image::Reference::parse(r->str());
        if (!again || again->str() != r->str()) __builtin_trap();
    }
    (void)berth::image::normalize_registry(text);
    return 0;
}
