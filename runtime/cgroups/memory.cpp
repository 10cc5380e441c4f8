// The memory controller: v1 (limit_in_bytes, memsw, soft limit, oom_control) and v2
// (memory.max, memory.swap.max, memory.low).
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
int64_t val(const std::optional<int64_t>& v) {
    return v.value_or(0);
}

// checkBeforeUpdate: refuse a limit below what the cgroup already uses, instead of letting
// the kernel reclaim or OOM-kill to get under it.
Status check_usage(const std::string& dir, const char* usage_file, int64_t limit) {
    if (limit <= 0) return ok();
    auto usage = knob::read_u64(dir, usage_file);
    if (usage && usage.value() > static_cast<uint64_t>(limit))
        return error("memory.limit: " + std::to_string(limit) + " is below the current usage " +
                     std::to_string(usage.value()) + " (checkBeforeUpdate)");
    return ok();
}
}  // namespace

namespace v1 {

Status memory(const std::string& dir, const spec::Memory& m, Warnings& w) {
    int64_t limit = val(m.limit), swap = val(m.swap);
    const bool has_memsw = knob::exists(dir, "memory.memsw.limit_in_bytes");
    // Unlimited memory with swap unset means both unlimited (runc's rule).
    if (limit == -1 && swap == 0 && has_memsw) swap = -1;
    if (m.check_before_update.value_or(false))
        TRY(check_usage(dir, "memory.usage_in_bytes", limit));
    if (swap != 0 && !has_memsw) {
        w.push_back("memory.swap ignored: swap accounting is disabled on this kernel");
        swap = 0;
    }
    if (limit != 0 && swap != 0) {
        // The kernel requires limit <= memsw at every step, so the order depends on
        // whether the new memsw is above the current limit.
        uint64_t cur = value_or(knob::read_u64(dir, "memory.limit_in_bytes"), uint64_t{0});
        if (swap == -1 || cur < static_cast<uint64_t>(swap)) {
            TRY(knob::write(dir, "memory.memsw.limit_in_bytes", std::to_string(swap)));
            TRY(knob::write(dir, "memory.limit_in_bytes", std::to_string(limit)));
        } else {
            TRY(knob::write(dir, "memory.limit_in_bytes", std::to_string(limit)));
            TRY(knob::write(dir, "memory.memsw.limit_in_bytes", std::to_string(swap)));
        }
    } else {
        if (limit != 0) TRY(knob::write(dir, "memory.limit_in_bytes", std::to_string(limit)));
        if (swap != 0) TRY(knob::write(dir, "memory.memsw.limit_in_bytes", std::to_string(swap)));
    }
    if (val(m.reservation) != 0)
        TRY(knob::write(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation)));
    if (val(m.kernel) != 0)
        w.push_back(
            "memory.kernel ignored: kernel memory limits are deprecated and not "
            "enforced by this kernel");
    if (val(m.kernel_tcp) != 0) {
        if (knob::exists(dir, "memory.kmem.tcp.limit_in_bytes"))
            TRY(knob::write(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp)));
        else
            w.push_back("memory.kernelTCP ignored: not supported by this kernel");
    }
    if (m.swappiness) {
        if (*m.swappiness > 100)
            return error("memory.swappiness: " + std::to_string(*m.swappiness) +
                         " is out of range 0-100");
        TRY(knob::write(dir, "memory.swappiness", std::to_string(*m.swappiness)));
    }
    if (m.disable_oom_killer.value_or(false)) TRY(knob::write(dir, "memory.oom_control", "1"));
    if (m.use_hierarchy) {
        // Kernels since 5.x always use the hierarchy and reject "0".
        auto st = knob::write(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0");
        if (!st && *m.use_hierarchy) return st;
        if (!st) w.push_back("memory.useHierarchy=false ignored: the kernel always uses it");
    }
    return ok();
}

}  // namespace v1

namespace v2 {

Status memory(const std::string& dir, const spec::Memory& m, Warnings& w) {
    int64_t limit = val(m.limit);
    int64_t swap = TRY(swap_to_v2(val(m.swap), limit));
    if (m.check_before_update.value_or(false)) TRY(check_usage(dir, "memory.current", limit));
    std::string swap_str = swap == 0 ? "" : knob::v2_num(swap);
    // memory and memory+swap equal: no swap at all.
    if (swap == 0 && val(m.swap) > 0) swap_str = "0";
    if (!swap_str.empty()) {
        auto st = knob::write(dir, "memory.swap.max", swap_str);
        // Without swap accounting the file is absent; "max" and "0" then mean what we want.
        if (!st && !(st.error().code() == ENOENT && (swap_str == "max" || swap_str == "0")))
            return st;
    }
    if (limit != 0) TRY(knob::write(dir, "memory.max", knob::v2_num(limit)));
    if (val(m.reservation) != 0) TRY(knob::write(dir, "memory.low", knob::v2_num(*m.reservation)));
    if (val(m.kernel) != 0) w.push_back("memory.kernel ignored: not supported on cgroup v2");
    if (val(m.kernel_tcp) != 0) w.push_back("memory.kernelTCP ignored: not supported on cgroup v2");
    if (m.swappiness) w.push_back("memory.swappiness ignored: not supported on cgroup v2");
    if (m.disable_oom_killer.value_or(false))
        w.push_back("memory.disableOOMKiller ignored: not supported on cgroup v2");
    return ok();
}

}  // namespace v2

}  // namespace berth::cgroups
