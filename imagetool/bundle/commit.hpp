// `berth-image commit`: what a container changed in a bundle's rootfs becomes one new layer on
// top of the image the bundle was unpacked from, stored as a new image (umoci's repack,
// docker commit).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/bundle/diff.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::bundle {

struct CommitOptions {
    std::string message;               // history created_by (default "berth-image commit")
    std::string author;                // config author and history author
    std::vector<std::string> changes;  // --change lines (config_change.hpp)
    layer::Compression compression = layer::Compression::gzip;
};

struct CommitResult {
    spec::Descriptor manifest;
    spec::Descriptor layer;
    std::string diff_id;
    DiffStats stats;
};

// An unchanged bundle still gives a layer (an empty tar), as docker commit does: the image's
// history then says a commit happened, and the layer count is what the caller expects.
Result<CommitResult> commit_bundle(Store& store, const std::string& bundle_dir,
                                   const std::string& name, const CommitOptions& opts);

}  // namespace berth::image::bundle
