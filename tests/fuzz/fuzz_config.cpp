// libFuzzer target: config.json parse + validate (spec/), the runtime's first contact with a
// bundle. Any input must give a Spec or an Error, never a crash, hang or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/runtime_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto spec = berth::spec::parse_config(text);
    if (spec) (void)berth::spec::validate(*spec);
    (void)berth::spec::parse_process(text);
    (void)berth::spec::parse_resources(text);
    return 0;
}
