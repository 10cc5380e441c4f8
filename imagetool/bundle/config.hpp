// config.json from an image config, per image-spec conversion.md, on top of `berth spec`'s
// defaults.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "spec/image.hpp"
#include "spec/runtime_config.hpp"

namespace berth::image::bundle {

// --volume host:container[:ro]
struct VolumeBind {
    std::string host;
    std::string container;
    bool readonly = false;
};
Result<VolumeBind> parse_volume(const std::string& text);

struct BundleOptions {
    std::optional<std::vector<std::string>> entrypoint;  // --entrypoint (replaces, drops Cmd)
    std::vector<std::string> args;                       // trailing args (replace Cmd)
    std::vector<VolumeBind> volumes;
    bool rootless = false;  // user namespace mapping the caller (uid/gid below)
    uid_t uid = 0;
    gid_t gid = 0;
    bool terminal = false;
    // No network namespace: the host's network (a build's `RUN --network host`). The host's
    // /etc/resolv.conf and /etc/hosts are bound read-only over the image's when it has them.
    bool host_network = false;
    // Docker's default capability set and no no_new_privileges (what `docker run` and a
    // Docker build's RUN steps get: chown, setuid, ... for package managers) instead of
    // `berth spec`'s three capabilities.
    bool engine_capabilities = false;
};

inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Builds the runtime config for an image whose rootfs is open at rootfs_fd (for /etc/passwd
// and /etc/group, read in root). root.path is "rootfs".
Result<spec::Spec> make_config(const spec::ImageConfig& image, int rootfs_fd,
                               const BundleOptions& opts);

}  // namespace berth::image::bundle
