// Container state JSON: strict reading and runc-shaped writing.
#include "spec/state.hpp"

#include <cstdio>

#include "spec/json_read.hpp"

namespace berth::spec {

namespace {

constexpr std::string_view kStatuses[] = {"creating", "created", "running", "stopped", "paused"};

Status read_state(const jsonr::Node& n, State& s) {
    auto o = TRY(jsonr::Object::of(n));
    TRY(o.req("ociVersion", s.oci_version));
    TRY(o.req("id", s.id));
    TRY(o.req_enum("status", s.status, kStatuses, "status"));
    TRY(o.opt("pid", s.pid));
    TRY(o.req("bundle", s.bundle));
    TRY(o.opt("annotations", s.annotations));
    TRY(o.opt("rootfs", s.rootfs));
    TRY(o.opt("created", s.created));
    TRY(o.opt("owner", s.owner));
    return ok();
}

}  // namespace

Result<State> parse_state(const std::string& json_text) {
    auto j = TRY(jsonr::parse_text(json_text));
    State s;
    TRY(read_state(jsonr::Node(j, ""), s));
    return s;
}

nlohmann::ordered_json to_ordered_json(const State& s) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["ociVersion"] = s.oci_version;
    j["id"] = s.id;
    j["pid"] = s.pid;
    j["status"] = s.status;
    j["bundle"] = s.bundle;
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    j["owner"] = s.owner;
    return j;
}

nlohmann::json to_json(const State& s) {
    return nlohmann::json(to_ordered_json(s));
}

std::string to_string(const State& s, int indent) {
    return to_ordered_json(s).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string rfc3339_nano(const struct timespec& ts) {
    struct tm tm {};
    time_t secs = ts.tv_sec;
    gmtime_r(&secs, &tm);
    char buf[64];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string out = buf;
    if (ts.tv_nsec > 0) {
        char frac[24];  // tv_nsec < 1e9, but the compiler cannot know that
        snprintf(frac, sizeof(frac), "%09ld", ts.tv_nsec);
        std::string f = frac;
        while (!f.empty() && f.back() == '0')
            f.pop_back();
        out += "." + f;
    }
    return out + "Z";
}

}  // namespace berth::spec
