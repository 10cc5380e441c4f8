// Snapshot bundles: each layer extracted once into a cache in the store (keyed by chain id,
// whiteouts in overlayfs form), the bundle's rootfs an overlay of them with a private upper
// directory. Bundles record themselves in each layer they use, so pruning never removes a
// layer a bundle still mounts.
//
// On disk:
//   <store>/.berth/layers/<chain-hex>/fs/           the layer, extracted
//   <store>/.berth/layers/<chain-hex>/refs/<id>     one file per bundle using it (its path)
//   <bundle>/rootfs                                 overlay mount point
//   <bundle>/.snapshot/{upper,work}                 the container's writable layer
//   <bundle>/.snapshot/info.json                    store dir and chain ids, for umount
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/layer/apply.hpp"
#include "imagetool/store/store.hpp"
#include "spec/runtime_config.hpp"

namespace berth::image::bundle {

std::string layer_cache_dir(const std::string& store_dir);

struct SkippedDevices {
    uint64_t count = 0;
    std::string first;
};

// Extracts the image's layers that are not cached yet, bottom first, each over an overlay of
// the layers below it (for a normal user, one mounted in a user namespace). Returns the chain
// ids' hex, bottom layer first; device nodes not made are added to `skipped`.
Result<std::vector<std::string>> ensure_layers(const Store& store, const Image& image,
                                               const layer::ApplyOptions& opts,
                                               SkippedDevices& skipped);

// Writes a snapshot bundle's file (its references, info.json, config.json) by temp + rename,
// without fsync: the bundle is an overlay mount, which does not survive a crash either, and on
// a busy ext4 each fsync costs ~10 ms against a bundle meant to cost one mount.
Status write_snapshot_file(const std::string& path, std::string_view data, mode_t mode);

// Mounts the overlay of `chains` (bottom first) at <bundle>/rootfs and records the bundle's
// references. The bundle directory must exist.
Status mount_snapshot(const std::string& store_dir, const std::vector<std::string>& chains,
                      const std::string& bundle_dir);

// A normal user's snapshot (docs/layers.md, "Rootless snapshots"): the same upper, work and
// references as mount_snapshot, but nothing is mounted: the overlay is returned as the
// mounts[] entry at "/" that the runtime mounts in the container's user and mount namespace.
Result<spec::Mount> prepare_runtime_snapshot(const std::string& store_dir,
                                             const std::vector<std::string>& chains,
                                             const std::string& bundle_dir);

// That overlay mounted in a user namespace of berth-image's own, as an fd (reading the
// rootfs's /etc/passwd for config.json); it proves the kernel allows the mount, too.
Result<UniqueFd> open_runtime_snapshot(const spec::Mount& m, const std::string& bundle_dir);

// Unmounts a snapshot bundle, drops its references and removes the directory.
Status umount_snapshot(const std::string& bundle_dir);
bool is_snapshot_bundle(const std::string& bundle_dir);

// Removes cached layers no bundle references and no named image uses. Returns how many.
Result<size_t> prune_layers(const Store& store);

}  // namespace berth::image::bundle
