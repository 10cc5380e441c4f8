// Capabilities: names resolved with libcap in the parent, the five sets applied in the child.
#pragma once

#include <sys/capability.h>

#include <optional>
#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

struct CapSets {
    std::vector<cap_value_t> bounding, effective, inheritable, permitted, ambient;
};

// nullopt when process.capabilities is absent (the process keeps what it has). `field` is the
// error prefix ("config.json: process"). Unknown names are an error naming the field; names
// the running kernel does not have are skipped, as runc does (an engine may pass every
// capability it knows).
Result<std::optional<CapSets>> plan_capabilities(const spec::Process& p, const std::string& field);

// Before changing uid: drop from the bounding set everything not asked for.
Status drop_bounding(const CapSets& c);
// After changing uid (with PR_SET_KEEPCAPS): effective, permitted, inheritable, then ambient.
// The inheritable set is exactly what was asked (empty when not asked: CVE-2022-29162).
Status apply_capabilities(const CapSets& c);

}  // namespace berth::runtime::linux_
