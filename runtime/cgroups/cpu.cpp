// The cpu and cpuset controllers: v1 (cpu.shares, cfs and rt knobs) and v2 (cpu.weight,
// cpu.max, cpu.max.burst, cpu.idle).
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
// The kernel rejects a period below the current quota (and the reverse), so when the first
// write fails with EINVAL the other order is tried (runc does the same).
Status write_pair(const std::string& dir, const char* first, const std::string& v1,
                  const char* second, const std::string& v2) {
    auto st = knob::write(dir, first, v1);
    if (st) return knob::write(dir, second, v2);
    if (st.error().code() != EINVAL) return st;
    TRY(knob::write(dir, second, v2));
    return knob::write(dir, first, v1);
}
}  // namespace

namespace v1 {

Status cpu(const std::string& dir, const spec::Cpu& c, Warnings&) {
    if (c.shares && *c.shares != 0) {
        TRY(knob::write(dir, "cpu.shares", std::to_string(*c.shares)));
        // The kernel clamps silently; report it as runc does.
        auto got = knob::read_u64(dir, "cpu.shares");
        if (got && got.value() != *c.shares)
            return error("cpu.shares: " + std::to_string(*c.shares) +
                         " is out of range, the kernel set " + std::to_string(got.value()));
    }
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (period != 0 && quota != 0)
        TRY(write_pair(dir, "cpu.cfs_period_us", std::to_string(period), "cpu.cfs_quota_us",
                       std::to_string(quota)));
    else if (period != 0)
        TRY(knob::write(dir, "cpu.cfs_period_us", std::to_string(period)));
    else if (quota != 0)
        TRY(knob::write(dir, "cpu.cfs_quota_us", std::to_string(quota)));
    if (c.burst) TRY(knob::write(dir, "cpu.cfs_burst_us", std::to_string(*c.burst)));
    int64_t rt_runtime = c.realtime_runtime.value_or(0);
    uint64_t rt_period = c.realtime_period.value_or(0);
    if (rt_period != 0 && rt_runtime != 0)
        TRY(write_pair(dir, "cpu.rt_period_us", std::to_string(rt_period), "cpu.rt_runtime_us",
                       std::to_string(rt_runtime)));
    else if (rt_period != 0)
        TRY(knob::write(dir, "cpu.rt_period_us", std::to_string(rt_period)));
    else if (rt_runtime != 0)
        TRY(knob::write(dir, "cpu.rt_runtime_us", std::to_string(rt_runtime)));
    if (c.idle) TRY(knob::write(dir, "cpu.idle", std::to_string(*c.idle)));
    return ok();
}

Status cpuset(const std::string& dir, const spec::Cpu& c) {
    if (!c.cpus.empty()) TRY(knob::write(dir, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) TRY(knob::write(dir, "cpuset.mems", c.mems));
    return ok();
}

}  // namespace v1

namespace v2 {

Status cpu(const std::string& dir, const spec::Cpu& c, Warnings&) {
    if (c.realtime_runtime.value_or(0) != 0 || c.realtime_period.value_or(0) != 0)
        return error("cpu.realtimeRuntime/realtimePeriod: not supported on cgroup v2");
    bool idle = false;
    if (c.idle) {
        TRY(knob::write(dir, "cpu.idle", std::to_string(*c.idle)));
        idle = *c.idle != 0;
    }
    // An idle group has no weight of its own (the kernel rejects writes to cpu.weight).
    if (!idle && c.shares && *c.shares != 0)
        TRY(knob::write(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares))));
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (quota != 0 || period != 0) {
        std::string v = quota > 0 ? std::to_string(quota) : "max";
        if (period != 0) v += " " + std::to_string(period);
        TRY(knob::write(dir, "cpu.max", v));
    }
    if (c.burst) TRY(knob::write(dir, "cpu.max.burst", std::to_string(*c.burst)));
    return ok();
}

Status cpuset(const std::string& dir, const spec::Cpu& c) {
    if (!c.cpus.empty()) TRY(knob::write(dir, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) TRY(knob::write(dir, "cpuset.mems", c.mems));
    return ok();
}

}  // namespace v2

}  // namespace berth::cgroups
