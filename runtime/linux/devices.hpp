// /dev inside the container: default and linux.devices nodes, the standard symlinks, ptmx and
// the console, all made relative to an fd of the rootfs's /dev (resolved inside the root).
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

struct DeviceNode {
    std::string path;  // absolute in the container, "/dev/null"
    char type = 'c';   // c, b, p (u is c)
    unsigned major = 0, minor = 0;
    unsigned mode = 0666;
    unsigned uid = 0, gid = 0;
};

// The runtime-spec's default devices plus linux.devices (a listed path replaces a default).
// Checks the entries: absolute paths under /dev, known types. Errors name linux.devices[i].
Result<std::vector<DeviceNode>> plan_devices(const spec::Spec& spec);

struct DeviceEnv {
    int root_fd = -1;
    bool in_user_namespace = false;  // bind the host's node instead of mknod
    int console_slave_fd = -1;       // bound onto /dev/console when >= 0
};

// Creates the nodes, /dev/fd, stdin, stdout, stderr, core, ptmx and console.
Status setup_devices(const std::vector<DeviceNode>& devices, const DeviceEnv& env);

}  // namespace berth::runtime::linux_
