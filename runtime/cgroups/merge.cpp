// Merging an `update` into the resources a cgroup already has, as runc merges its flags into
// the config it keeps in state.json: a field the update sets replaces the old one, the rest
// stays, so drivers see inter-dependent values (quota with period, memory with swap) whole.
#include "runtime/cgroups/cgroups.hpp"

namespace berth::cgroups {

namespace {

template <typename T>
void over(std::optional<T>& dst, const std::optional<T>& src) {
    if (src) dst = src;
}

template <typename T>
void over(std::vector<T>& dst, const std::vector<T>& src) {
    if (!src.empty()) dst = src;
}

}  // namespace

spec::Resources merge_resources(const spec::Resources& base, const spec::Resources& u) {
    spec::Resources r = base;
    if (u.memory) {
        if (!r.memory) r.memory.emplace();
        auto& m = *r.memory;
        const auto& n = *u.memory;
        over(m.limit, n.limit);
        over(m.reservation, n.reservation);
        over(m.swap, n.swap);
        // runc: an unlimited memory limit without a swap value means unlimited swap too
        // (otherwise an old memsw limit would sit below the new memory limit on v1).
        if (n.limit && *n.limit == -1 && !n.swap) m.swap = -1;
        over(m.kernel, n.kernel);
        over(m.kernel_tcp, n.kernel_tcp);
        over(m.swappiness, n.swappiness);
        over(m.disable_oom_killer, n.disable_oom_killer);
        over(m.use_hierarchy, n.use_hierarchy);
        over(m.check_before_update, n.check_before_update);
    }
    if (u.cpu) {
        if (!r.cpu) r.cpu.emplace();
        auto& c = *r.cpu;
        const auto& n = *u.cpu;
        over(c.shares, n.shares);
        over(c.quota, n.quota);
        over(c.burst, n.burst);
        over(c.period, n.period);
        over(c.realtime_runtime, n.realtime_runtime);
        over(c.realtime_period, n.realtime_period);
        over(c.idle, n.idle);
        if (!n.cpus.empty()) c.cpus = n.cpus;
        if (!n.mems.empty()) c.mems = n.mems;
    }
    if (u.pids && u.pids->limit) r.pids = u.pids;
    if (u.block_io) {
        if (!r.block_io) r.block_io.emplace();
        auto& b = *r.block_io;
        const auto& n = *u.block_io;
        over(b.weight, n.weight);
        over(b.leaf_weight, n.leaf_weight);
        over(b.weight_device, n.weight_device);
        over(b.throttle_read_bps_device, n.throttle_read_bps_device);
        over(b.throttle_write_bps_device, n.throttle_write_bps_device);
        over(b.throttle_read_iops_device, n.throttle_read_iops_device);
        over(b.throttle_write_iops_device, n.throttle_write_iops_device);
    }
    for (const auto& h : u.hugepage_limits) {
        bool found = false;
        for (auto& o : r.hugepage_limits)
            if (o.page_size == h.page_size) {
                o.limit = h.limit;
                found = true;
            }
        if (!found) r.hugepage_limits.push_back(h);
    }
    if (u.network) {
        if (!r.network) r.network.emplace();
        over(r.network->class_id, u.network->class_id);
        over(r.network->priorities, u.network->priorities);
    }
    for (const auto& [k, v] : u.rdma)
        r.rdma[k] = v;
    for (const auto& [k, v] : u.unified)
        r.unified[k] = v;
    // Device rules are not changed by update (runc neither).
    return r;
}

}  // namespace berth::cgroups
