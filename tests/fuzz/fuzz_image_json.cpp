// libFuzzer target: image-spec documents as a registry or an archive sends them: manifest,
// index, config, descriptor, layout, and the manifest-kind classification pull does first.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace s = berth::spec;
    std::string text(reinterpret_cast<const char*>(data), size);
    (void)s::classify_manifest(text, "");
    (void)s::classify_manifest(text, "application/vnd.oci.image.manifest.v1+json");
    (void)s::parse_manifest(text);
    if (auto idx = s::parse_index(text))
        (void)s::select_platform_manifest(*idx, s::host_platform());
    (void)s::parse_image_config(text);
    (void)s::parse_descriptor(text);
    (void)s::parse_layout(text);
    (void)s::parse_platform_json(text);
    (void)s::parse_platform(text);
    return 0;
}
