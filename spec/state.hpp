// The container state JSON (runtime-spec state.md) with the members runc adds.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec {

struct State {
    std::string oci_version;
    std::string id;
    std::string status;  // creating, created, running, stopped (runc adds paused)
    int pid = 0;         // 0 when there is no process (written anyway, as runc does)
    std::string bundle;  // absolute path
    std::map<std::string, std::string> annotations;
    // runc's additions, which engines (containerd's go-runc) read back.
    std::string rootfs;
    std::string created;  // RFC 3339 with nanoseconds, UTC: rfc3339_nano()
    std::string owner;
};

// Reads state JSON strictly (paths in errors like config.json); unknown members ignored.
Result<State> parse_state(const std::string& json_text);
// runc's member order: ociVersion, id, pid, status, bundle, rootfs, created, annotations, owner.
nlohmann::ordered_json to_ordered_json(const State& s);
nlohmann::json to_json(const State& s);
std::string to_string(const State& s, int indent = 2);

// Go's time.RFC3339Nano in UTC ("2026-11-28T01:04:18.502356611Z", trailing zeros of the
// fraction dropped), which is how runc writes `created`.
std::string rfc3339_nano(const struct timespec& ts);

}  // namespace berth::spec
