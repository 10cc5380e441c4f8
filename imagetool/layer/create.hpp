// Making a layer from a directory tree: a PAX tar in sorted order (reproducible), symlinks
// stored not followed, hardlinks detected, numeric owners, xattrs, device nodes.
#pragma once

#include <functional>
#include <string>

#include "base/result.hpp"

namespace berth::image::layer {

using TarSink = std::function<Status(const void* data, size_t len)>;

// Writes the tree at `dir` (its contents, as "./..." entries plus "./" itself) to `sink`.
Status write_tree_tar(const std::string& dir, const TarSink& sink);

}  // namespace berth::image::layer
