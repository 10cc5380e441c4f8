// Resolving an image's User ("name", "uid", "name:group", "uid:gid", ...) against the rootfs's
// own /etc/passwd and /etc/group, read inside the root (a hostile image cannot point them at
// the host's files through a symlink).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/passwd.hpp"
#include "base/result.hpp"

namespace berth::image::bundle {

struct ResolvedUser {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> additional_gids;  // groups listing the user, without gid itself
    std::string home;                       // from passwd; "" when the user has no entry
};

// Reads /etc/passwd and /etc/group in the root: regular files only, at most 4 MiB each; a
// missing file counts as empty. `user` empty means root (0:0).
// Numeric ids are kept even without an entry; an unknown name is an error naming it.
Result<ResolvedUser> resolve_user(int rootfs_fd, const std::string& user);
// The same over already-read file contents (unit tests).
Result<ResolvedUser> resolve_user(const std::string& user, const std::vector<PasswdEntry>& pw,
                                  const std::vector<GroupEntry>& gr);

}  // namespace berth::image::bundle
