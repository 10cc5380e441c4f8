// What a bundle was unpacked from, kept beside its rootfs so `commit` can put the container's
// changes on top of the right image, and (full unpacks) the manifest of the unpacked tree that
// the changes are found against.
//
// On disk:
//   <bundle>/.berth-image/origin.json   {"store", "name", "manifest", "mode": "full"|"snapshot"}
//   <bundle>/.berth-image/rootfs.mtree  full unpacks: one line per entry of rootfs (mtree.hpp)
#pragma once

#include <string>

#include "base/result.hpp"

namespace berth::image::bundle {

struct Origin {
    std::string store;     // the store directory the image was in
    std::string name;      // the name it was unpacked by ("" if by digest)
    std::string manifest;  // "sha256:<hex>" of the platform manifest
    bool snapshot = false;
};

std::string origin_dir(const std::string& bundle_dir);
Status write_origin(const std::string& bundle_dir, const Origin& o);
// An error naming the bundle when it has no record (made by another tool or an older berth).
Result<Origin> read_origin(const std::string& bundle_dir);

}  // namespace berth::image::bundle
