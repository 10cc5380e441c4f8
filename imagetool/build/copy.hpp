// COPY/ADD of local files from a build context, or of files from an earlier stage's or an
// image's rootfs, into a rootfs. Context sources are resolved beneath the context (a ".." or a
// symlink leading out is refused, never clamped: the author meant a file the build cannot
// see); rootfs sources are resolved inside that rootfs (its absolute symlinks mean its own
// files); destinations inside the rootfs being built (a symlink in the image never leads to
// the host). Inside a copied directory, symlinks are copied as links, never followed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/build/dockerignore.hpp"

namespace berth::image::build {

struct CopySpec {
    std::vector<std::string> sources;  // relative to the source root ("/" means the root)
    std::string dest;                  // absolute in the rootfs (the caller applied WORKDIR)
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<mode_t> mode;  // --chmod
    // Sources are another rootfs (COPY --from): resolved in-root, owners kept unless
    // --chown (BuildKit and buildah keep them).
    bool from_rootfs = false;
    bool keep_owner = false;
    const IgnoreRules* ignore = nullptr;  // the context's .dockerignore
    bool unpack_archives = false;         // ADD: a local tar archive is unpacked at dest
};

// Fails (naming the source) when a source is missing, excluded or outside the context.
Status copy_into(int source_fd, int rootfs_fd, const CopySpec& spec);

// Lexically checks a context-relative source: an error if ".." climbs above the context.
Result<std::string> context_relative(const std::string& source);

// The paths (relative to the source root, sorted) a wildcard source matches, component by
// component as filepath.Match does; excluded paths are left out. Empty when none matches.
Result<std::vector<std::string>> expand_source(int source_fd, const std::string& pattern,
                                               bool from_rootfs, const IgnoreRules* ignore);

}  // namespace berth::image::build
