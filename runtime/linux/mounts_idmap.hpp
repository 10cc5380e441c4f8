// A user namespace made only to carry an id mapping for idmapped mounts (MOUNT_ATTR_IDMAP).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// The text of /proc/<pid>/uid_map or gid_map for these mappings: "inside outside count\n" each.
std::string map_text(const std::vector<spec::IDMapping>& m);

// Forks a child that unshares a user namespace, writes the maps from the parent, keeps an fd
// of /proc/<child>/ns/user and reaps the child. The namespace lives as long as the fd.
Result<UniqueFd> make_mapping_userns(const std::vector<spec::IDMapping>& uids,
                                     const std::vector<spec::IDMapping>& gids);

}  // namespace berth::runtime::linux_
