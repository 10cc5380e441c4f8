// Applying one layer (a tar stream, possibly compressed) onto a root directory, per image-spec
// layer.md, without ever touching anything outside that root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/layer/tar_reader.hpp"
#include "imagetool/layer/unpriv.hpp"

namespace berth::image::layer {

struct ApplyOptions {
    Limits limits;
    // Numeric owners from the tar. Off rootless: everything belongs to the caller.
    bool chown = true;
    // Character and block devices. Off (or rootless): they are skipped and counted.
    bool mknod = true;
    // Unprivileged extraction, as umoci's --rootless: owners other than root are recorded in
    // the user.rootlesscontainers xattr, directories stay open to their owner until the layer
    // is done (a 0550 root/ still gets its files), devices are skipped. Implies
    // !chown and !mknod.
    bool rootless = false;
    // Rootless: record owners in user.rootlesscontainers (off: --no-chown drops them).
    bool record_owners = true;
    // "sha256:<hex>" the uncompressed stream must hash to; empty skips the check.
    std::string expected_diff_id;
};

// Options for the calling user: chown and mknod with euid 0, rootless otherwise.
ApplyOptions default_apply_options();

struct ApplyResult {
    std::string diff_id;  // sha256 of the uncompressed stream
    uint64_t entries = 0;
    uint64_t bytes = 0;                 // file data written
    std::vector<std::string> warnings;  // at most 100; the rest are counted
    uint64_t warnings_dropped = 0;
    // Device nodes not made (no mknod permission): the caller warns once for all its layers.
    uint64_t devices_skipped = 0;
    std::string first_device_skipped;
};

// The one warning line for `n` skipped device nodes, the first of them `first`.
std::string devices_skipped_warning(uint64_t n, const std::string& first);

// Applies the uncompressed tar in `tar` onto `root_fd` (an O_PATH or O_DIRECTORY fd) that
// shows the layers below: the full unpack's rootfs, or a snapshot layer's overlay view of its
// lower layers (docs/layers.md: one set of semantics for both). On error the root may hold
// part of the layer: the caller removes what it made.
Result<ApplyResult> apply_tar(int root_fd, Stream& tar, const ApplyOptions& opts);

// Applies a layer blob (fd at offset 0) of the given media type: decompressed as the type
// says (or as its bytes say, for Docker types), capped at opts.limits.max_expanded.
Result<ApplyResult> apply_layer(int root_fd, int blob_fd, std::string_view media_type,
                                const ApplyOptions& opts);

}  // namespace berth::image::layer
