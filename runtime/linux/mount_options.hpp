// Mount options of config.json mounts[]: the runtime-spec's option table parsed into mount(2)
// flags, propagation changes, recursive mount_setattr(2) attributes and filesystem data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace berth::runtime::linux_ {

// A mount_setattr(2) change: MOUNT_ATTR_* bits to set and to clear.
struct AttrChange {
    uint64_t set = 0;
    uint64_t clr = 0;
    bool empty() const { return set == 0 && clr == 0; }
};

struct MountOptions {
    unsigned long flags = 0;    // MS_* that are on (ro, nosuid, bind, rec, remount, ...)
    unsigned long cleared = 0;  // MS_* an option turned off explicitly (rw, suid, dev, ...)
    // Propagation changes in the order given: MS_PRIVATE|MS_SHARED|MS_SLAVE|MS_UNBINDABLE,
    // with MS_REC for the r* forms.
    std::vector<unsigned long> propagation;
    // rro, rnosuid, ...: applied with mount_setattr(AT_RECURSIVE) to the whole tree.
    AttrChange recursive;
    bool idmap = false;            // idmap or ridmap
    bool idmap_recursive = false;  // ridmap
    bool tmpcopyup = false;
    // Filesystem-specific options ("mode=755", "size=64k", "newinstance"), in order.
    std::vector<std::string> data;

    bool bind() const;
    bool recursive_bind() const;
    bool remount() const;
    // The per-mount flags (ro, nosuid, nodev, noexec, atime, nodiratime, nosymfollow) as a
    // mount_setattr(2) change for the top mount: only what an option named is touched.
    AttrChange mount_attrs() const;
    // The same flags as fsmount(2) attributes for a new mount (only bits to set).
    unsigned fsmount_attrs() const;
    // data joined with ',' (mount(2)'s data argument).
    std::string data_string() const;
};

// Parses one mount's options. `is_bind_type` is true when the mount's type is "bind" (a
// bind mount has no filesystem data, so an unknown option there is a typo and an error).
// `field` names the mount for errors ("mounts[3]" -> "mounts[3].options[1]: ...").
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options, bool is_bind_type,
                                         std::string_view field);

// Parses a rootfsPropagation value ("rprivate", "slave", ...) into MS_* flags.
Result<unsigned long> parse_propagation(std::string_view value);

}  // namespace berth::runtime::linux_
