// COPY/ADD of local files from a build context into a rootfs: sources are resolved beneath the
// context (a ".." or a symlink leading out is refused, never clamped: the author meant a file
// the build cannot see), destinations inside the rootfs (a symlink in the image never leads to
// the host). Inside a copied directory, symlinks are copied as links, never followed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace berth::image::build {

struct CopySpec {
    std::vector<std::string> sources;  // relative to the context ("/" means the context root)
    std::string dest;                  // absolute in the rootfs (the caller applied WORKDIR)
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<mode_t> mode;  // --chmod
};

// Fails (naming the source) when a source is missing or outside the context.
Status copy_into(int context_fd, int rootfs_fd, const CopySpec& spec);

// Lexically checks a context-relative source: an error if ".." climbs above the context.
Result<std::string> context_relative(const std::string& source);

}  // namespace berth::image::build
