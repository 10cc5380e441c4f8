// tmpcopyup: the contents of a directory copied into a fresh (still detached) tmpfs.
#pragma once

#include "base/result.hpp"

namespace berth::runtime::linux_ {

// Copies everything under the directory `src_dir` (any fd of it, O_PATH is fine) into
// `dst_dir`, keeping modes, owners and symlinks; never follows a symlink (the source is the
// image's content). Also gives dst_dir the mode and owner of src_dir.
Status copy_tree(int src_dir, int dst_dir);

}  // namespace berth::runtime::linux_
