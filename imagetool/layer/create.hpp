// Making a layer from a directory tree: a PAX tar in sorted order (reproducible), symlinks
// stored not followed, hardlinks detected, numeric owners, xattrs, device nodes.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/result.hpp"

namespace berth::image::layer {

using TarSink = std::function<Status(const void* data, size_t len)>;

// Owners as a rootless caller stores them (a normal user's import): the caller's own uid and
// gid become 0, and an owner recorded in user.rootlesscontainers by a rootless unpack is
// stored instead (the xattr itself is not), as `umoci repack --rootless` does.
struct TreeOwners {
    bool rootless = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Writes the tree at `dir` (its contents, as "./..." entries plus "./" itself) to `sink`.
Status write_tree_tar(const std::string& dir, const TarSink& sink, const TreeOwners& owners = {});

}  // namespace berth::image::layer
