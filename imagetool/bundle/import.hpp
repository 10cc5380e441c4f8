// `berth-image import`: a one-layer image (tar+gzip layer, config with rootfs.diff_ids, OCI
// manifest) from a rootfs directory or a tar file, stored under a name.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::bundle {

struct ImportOptions {
    std::vector<std::string> cmd;  // Cmd
    std::vector<std::string> env;  // Env (K=V)
    std::string user;
    std::string workdir;
    std::map<std::string, std::string> labels;
};

// `src` is a directory (archived as is, symlinks not followed) or a tar file, plain or
// compressed (gzip/zstd, by its bytes). `name` is the full normalised reference.
Result<spec::Descriptor> import_image(Store& store, const std::string& src, const std::string& name,
                                      const ImportOptions& opts);

}  // namespace berth::image::bundle
