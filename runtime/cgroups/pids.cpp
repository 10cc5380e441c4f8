// The pids controller (same knob on v1 and v2): pids.max, a negative limit meaning "max".
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
Status write_pids(const std::string& dir, const spec::Pids& p) {
    // 0 is "unset" (runc's reading of the spec); negative is unlimited.
    if (!p.limit || *p.limit == 0) return ok();
    return knob::write(dir, "pids.max", *p.limit > 0 ? std::to_string(*p.limit) : "max");
}
}  // namespace

Status v1::pids(const std::string& dir, const spec::Pids& p) {
    return write_pids(dir, p);
}
Status v2::pids(const std::string& dir, const spec::Pids& p) {
    return write_pids(dir, p);
}

}  // namespace berth::cgroups
