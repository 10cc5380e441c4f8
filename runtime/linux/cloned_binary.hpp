// CVE-2019-5736: berth runs container-creating commands from a copy of itself that no process
// can write, so that no process in a container can ever reach the host's berth binary for
// writing through /proc/<pid>/exe (the init is a fork of berth until it execs the user
// process, and an image can make that process /proc/self/exe).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace berth::runtime::linux_ {

// True if /proc/self/exe is a memfd with write, grow, shrink and seal seals, or the
// read-only detached mount reexec_protected made (it leaves a marker in the environment,
// which this removes).
bool running_protected();

// If not already running protected: re-execs /proc/self/exe with the same argv and
// environment from a detached read-only bind mount of it (no copy), or, where that cannot be
// made (rootless, old kernels), from a sealed memfd copy. Returns only on failure.
Status reexec_protected(int argc, char** argv);

}  // namespace berth::runtime::linux_
