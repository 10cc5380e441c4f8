// CVE-2019-5736: berth runs container-creating commands from a sealed memfd copy of itself,
// so that no process in a container can ever reach the host's berth binary for writing
// through /proc/<pid>/exe (the init is a fork of berth until it execs the user process, and
// an image can make that process /proc/self/exe).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace berth::runtime::linux_ {

// True if /proc/self/exe is a memfd with write, grow, shrink and seal seals.
bool running_sealed();

// If not already running sealed: copies /proc/self/exe into a memfd, seals it and re-execs
// it with the same argv and environment. Returns only on failure.
Status reexec_sealed(int argc, char** argv);

}  // namespace berth::runtime::linux_
