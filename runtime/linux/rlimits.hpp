// process.rlimits: names resolved in the parent, setrlimit in the child before privileges go.
#pragma once

#include <sys/resource.h>

#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

struct RlimitSetting {
    int resource;
    rlimit value;
};

// `field` prefixes errors ("config.json: process").
Result<std::vector<RlimitSetting>> plan_rlimits(const spec::Process& p, const std::string& field);
Status apply_rlimits(const std::vector<RlimitSetting>& r);

}  // namespace berth::runtime::linux_
