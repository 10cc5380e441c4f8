// `berth-image unpack`: an image from the store becomes a runtime bundle (config.json and
// rootfs/), fully extracted or as an overlay snapshot of cached layers.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "imagetool/bundle/config.hpp"
#include "imagetool/layer/apply.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::bundle {

struct UnpackOptions {
    BundleOptions bundle;
    bool snapshot = false;
    bool no_chown = false;  // every file the caller's, no owner recorded
    int jobs = 4;           // accepted, unused: snapshot layers apply in order (docs/layers.md)
    layer::Limits limits;
    spec::Platform platform = spec::host_platform();
};

struct UnpackResult {
    size_t layers = 0;
    size_t layers_extracted = 0;  // full unpack: layers applied
    std::vector<std::string> warnings;
    uint64_t devices_skipped = 0;  // over all layers: one warning line says so
    std::string first_device_skipped;
};

// DIR must be absent or empty. On failure everything made is removed (and DIR itself if this
// call created it).
Result<UnpackResult> unpack_image(Store& store, std::string_view ref, const std::string& dir,
                                  const UnpackOptions& opts);

}  // namespace berth::image::bundle
