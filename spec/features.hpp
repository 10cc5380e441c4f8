// What `berth features` reports (runtime-spec features.md / features-linux.md).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec {

struct FeatureEnabled {
    std::optional<bool> enabled;
};

struct CgroupFeatures {
    std::optional<bool> v1, v2, systemd, systemd_user, rdma;
};

struct SeccompFeatures {
    std::optional<bool> enabled;
    std::vector<std::string> actions, operators, archs, known_flags, supported_flags;
};

struct MountExtensions {
    std::optional<FeatureEnabled> idmap;
};

struct LinuxFeatures {
    std::vector<std::string> namespaces, capabilities;
    std::optional<CgroupFeatures> cgroup;
    std::optional<SeccompFeatures> seccomp;
    std::optional<FeatureEnabled> apparmor, selinux, intel_rdt;
    std::optional<MountExtensions> mount_extensions;
};

struct Features {
    std::string oci_version_min, oci_version_max;  // required
    std::vector<std::string> hooks, mount_options;
    std::optional<LinuxFeatures> linux_;  // "linux" is a predefined macro under GNU C++
    std::map<std::string, std::string> annotations;
    std::vector<std::string> potentially_unsafe_config_annotations;
};

// Member order follows features.md (and runc features' output).
nlohmann::ordered_json to_ordered_json(const Features& f);
nlohmann::json to_json(const Features& f);
std::string to_string(const Features& f, int indent = 4);
// Reading, for tests that compare with runc's and crun's `features` output.
Result<Features> parse_features(const std::string& json_text);

}  // namespace berth::spec
