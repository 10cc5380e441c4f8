// Where a tar entry lands: name cleaning and in-root resolution of its parent directory.
#pragma once

#include <string>
#include <string_view>

#include "base/in_root.hpp"
#include "base/result.hpp"

namespace berth::image::layer {

// Cleans an entry name: drops "./" and empty components and a trailing "/". Refuses absolute
// names and any ".." component (a layer never needs them; they are how tar-slip attacks start).
// The root itself ("./", ".") cleans to "".
Result<std::string> clean_entry_path(std::string_view raw);

// The parent directory of a cleaned path, resolved inside `root_fd`, plus the last component.
// Symlinks met on the way (made by earlier entries or lower layers) are followed only while
// they stay beneath the root: a link that leads out of it (absolute, or ".." past the top) is
// refused with EXDEV rather than clamped, so a hostile layer gets an error, not a surprise.
// A missing parent is ENOENT (the applier makes parents itself, with the layer's times).
Result<ParentAndName> resolve_entry_parent(int root_fd, const std::string& clean);

}  // namespace berth::image::layer
