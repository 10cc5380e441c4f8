// The instructions that only change the image config (no layer): ENV, LABEL, WORKDIR, USER,
// CMD, ENTRYPOINT, EXPOSE, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER. Each
// is stored where Docker stores it (config.Healthcheck with nanosecond durations,
// config.OnBuild with the trigger as written, MAINTAINER as the image author).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "imagetool/build/dockerfile.hpp"
#include "spec/image.hpp"

namespace berth::image::build {

bool is_config_instruction(const std::string& keyword);

// Applies one config-only instruction; `cmd_set_here` tracks whether this stage set CMD (an
// ENTRYPOINT drops only an inherited CMD). Errors do not name the line (the caller does).
Status apply_config(spec::ImageConfig& cfg, const Instruction& ins, const Lookup& vars, char escape,
                    bool& cmd_set_here);

// A Go duration ("30s", "1m30s", "1.5h", "250ms", "0") in nanoseconds.
Result<int64_t> parse_duration(std::string_view text);

}  // namespace berth::image::build
