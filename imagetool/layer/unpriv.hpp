// Rootless extraction (umoci's pkg/unpriv idea): directories a layer writes into are kept
// open to their owner while the layer is applied and get their final modes afterwards, and
// owners that cannot be set are recorded in the user.rootlesscontainers xattr.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.hpp"

namespace berth::image::layer {

// The user.rootlesscontainers value for an owner (rootlesscontainers.com's protobuf: field 1
// uid, field 2 gid, varints; 0, the caller, is written as 4294967295, "no change", as umoci
// writes it). Empty for 0:0: nothing to record.
std::string rootless_xattr(uint32_t uid, uint32_t gid);
inline constexpr const char* kRootlessXattr = "user.rootlesscontainers";

// A user.rootlesscontainers value read back: {uid, gid}, kRootlessNoop for "the file's own".
// nullopt when it does not parse.
inline constexpr uint32_t kRootlessNoop = 0xffffffffu;
std::optional<std::pair<uint32_t, uint32_t>> parse_rootless_xattr(std::string_view v);

// Directory modes held back until a layer is complete. Paths are cleaned entry paths ("" is
// the root).
class DirModes {
  public:
    // The directory open at `fd` (at `path`) becomes rwx for its owner until restore(); its
    // current mode is what restore() sets back, unless set_final() says otherwise. Nothing
    // happens when it is rwx for its owner already or the caller does not own it.
    Status open_up(int fd, const std::string& path);
    // Every existing directory on the way to `clean` (excluding `clean` itself) made
    // searchable: a lower layer's 0000 or 0600 directory otherwise stops resolution (EACCES).
    Status open_up_path(int root_fd, const std::string& clean);
    // A directory this layer made or changed: `mode` is what restore() sets.
    void set_final(const std::string& path, mode_t mode) { modes_[path] = mode & 07777; }
    // Sets every remembered mode, deepest directory first (a parent set to 0500 first would
    // still allow it; set to 0600 it would stop the walk to its children).
    Status restore(int root_fd);

  private:
    std::map<std::string, mode_t> modes_;
};

}  // namespace berth::image::layer
