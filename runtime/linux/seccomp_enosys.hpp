// The ENOSYS stub for syscalls newer than a seccomp profile (see seccomp_enosys.cpp).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "spec/runtime_config.hpp"

namespace berth::seccomp {

// Classic BPF to run before libseccomp's program (it falls through to it): for each
// architecture in the libseccomp context `ctx`, a syscall numbered above the highest one the
// profile names returns ENOSYS. Empty when the default action allows (or only logs).
std::vector<sock_filter> enosys_stub(void* ctx, const spec::Seccomp& p, uint32_t default_action);

}  // namespace berth::seccomp
