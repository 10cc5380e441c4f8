// The changes a container made to a bundle's rootfs, written as an image layer tar (the
// image-spec changeset: changed and added entries as they are now, ".wh.NAME" for a removed
// entry, ".wh..wh..opq" for a directory whose lower content is hidden).
#pragma once

#include <cstddef>
#include <string>

#include "base/result.hpp"
#include "imagetool/layer/create.hpp"

namespace berth::image::bundle {

struct DiffStats {
    size_t entries = 0;    // files, directories, links written
    size_t whiteouts = 0;  // .wh. entries, opaque markers included
};

// Snapshot bundles: the overlay's upper directory is the change. Whiteout devices (0:0) and
// opaque directories are turned into their tar forms.
Result<DiffStats> write_snapshot_diff(const std::string& bundle_dir, layer::TarWriter& w);

// Full unpacks: the rootfs against the manifest recorded at unpack (mtree.hpp).
Result<DiffStats> write_full_diff(const std::string& bundle_dir, layer::TarWriter& w);

}  // namespace berth::image::bundle
