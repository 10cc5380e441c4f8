// Dockerfile-style changes to an image config, as `docker commit --change` takes them:
// CMD, ENTRYPOINT (JSON array or shell form), ENV K=V, WORKDIR, USER, LABEL K=V..., EXPOSE
// PORT[/PROTO]...
#pragma once

#include <string>

#include "base/result.hpp"
#include "spec/image.hpp"

namespace berth::image::bundle {

// Applies one change line to `cc`; an error names the instruction and what is wrong.
Status apply_config_change(spec::ContainerConfig& cc, const std::string& change);

}  // namespace berth::image::bundle
