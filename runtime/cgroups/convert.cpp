// Value conversions between cgroup v1 and v2 knobs, with runc's and crun's formulas.
#include "runtime/cgroups/cgroups.hpp"

namespace berth::cgroups {

// v1 cpu.shares [2, 262144] maps linearly onto v2 cpu.weight [1, 10000]. This is the formula
// of runc 1.1 and crun 1.8 (crun 1.23+ and runc 1.3.2+ use a log-quadratic curve that maps
// 1024 to 100 instead; berth keeps the linear one so the values match the peers here).
uint64_t shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    if (shares < 2) shares = 2;
    if (shares > 262144) shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t weight_to_shares(uint64_t weight) {
    if (weight == 0) return 0;
    if (weight > 10000) weight = 10000;
    return 2 + ((weight - 1) * 262142) / 9999;
}

// v1 blkio.weight [10, 1000] -> v2 io.weight [1, 10000] (runc ConvertBlkIOToIOWeightValue).
uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    if (weight == 0) return 0;
    if (weight < 10) weight = 10;
    return 1 + (weight - 10) * 9999 / 990;
}

// OCI memory.swap is memory+swap (v1 memsw); v2 memory.swap.max is swap alone.
Result<int64_t> swap_to_v2(int64_t swap, int64_t limit) {
    // Unlimited memory with swap unset means "both unlimited", as v1 behaves.
    if (limit == -1 && swap == 0) return -1;
    if (swap == -1 || swap == 0) return swap;
    if (limit == 0 || limit == -1)
        return error("memory.swap: cannot set a swap limit without a memory limit");
    if (limit < 0) return error("memory.limit: invalid value " + std::to_string(limit));
    if (swap < limit)
        return error("memory.swap: memory+swap limit " + std::to_string(swap) +
                     " is lower than the memory limit " + std::to_string(limit));
    return swap - limit;
}

}  // namespace berth::cgroups
