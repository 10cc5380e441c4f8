// Internal helpers for reading and writing cgroup knob files with errors naming the knob.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace berth::cgroups::knob {

// Writes value to dir/name: "write memory.max='64M' in /sys/...: Invalid argument".
Status write(const std::string& dir, const std::string& name, const std::string& value);
// Reads dir/name, trailing newline removed.
Result<std::string> read(const std::string& dir, const std::string& name);
Result<uint64_t> read_u64(const std::string& dir, const std::string& name);  // "max" -> UINT64_MAX
bool exists(const std::string& dir, const std::string& name);
// Value of `key` in a flat-keyed file ("key value\n" lines: memory.stat, cgroup.events).
Result<uint64_t> read_keyed(const std::string& dir, const std::string& name,
                            const std::string& key);
// "-1" -> "max" (v2 spelling), else decimal.
std::string v2_num(int64_t v);

}  // namespace berth::cgroups::knob

namespace berth::cgroups {
// True when some cgroup below dir still uses `ctl` on cgroup2: it is enabled in a
// subtree_control there, or a `<ctl>.*max` limit is set to something other than max.
bool v2_in_use(const std::string& dir, const std::string& ctl);
// The value of a Result, or `def` when it failed (for best-effort reads).
template <typename T>
T value_or(Result<T>&& r, T def) {
    return r.ok() ? std::move(r).value() : def;
}
}  // namespace berth::cgroups
