// The v1 devices controller (devices.allow / devices.deny, in rule order) and the rule list a
// container gets: its own rules, then runc's default allow list.
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
std::string num(const std::optional<int64_t>& v) {
    return (!v || *v < 0) ? "*" : std::to_string(*v);
}

spec::DeviceCgroup allow(const char* type, int64_t major, int64_t minor, const char* access) {
    spec::DeviceCgroup d;
    d.allow = true;
    d.type = type;
    if (major >= 0) d.major = major;
    if (minor >= 0) d.minor = minor;
    d.access = access;
    return d;
}
}  // namespace

Status v1::devices(const std::string& dir, const std::vector<spec::DeviceCgroup>& rules) {
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        std::string type = r.type.empty() ? "a" : r.type;
        if (type != "a" && type != "c" && type != "b" && type != "u" && type != "p")
            return error("linux.resources.devices[" + std::to_string(i) + "].type: unknown '" +
                         r.type + "'");
        if (type == "p") continue;  // FIFOs are not subject to the device cgroup
        if (type == "u") type = "c";
        std::string access = r.access.empty() ? "rwm" : r.access;
        if (access.find_first_not_of("rwm") != std::string::npos)
            return error("linux.resources.devices[" + std::to_string(i) + "].access: invalid '" +
                         r.access + "'");
        // "a" resets the whole list in the kernel; it ignores the rest of the line.
        std::string line =
            type == "a" ? "a" : type + " " + num(r.major) + ":" + num(r.minor) + " " + access;
        TRY(knob::write(dir, r.allow ? "devices.allow" : "devices.deny", line));
    }
    return ok();
}

std::vector<spec::DeviceCgroup> container_device_rules(const spec::Linux& linux_) {
    std::vector<spec::DeviceCgroup> out;
    if (linux_.resources) out = linux_.resources->devices;
    // linux.devices are only created, never allowed here: as in runc, a node the rules deny
    // exists and cannot be opened (a spec that lists /dev/kmsg and denies all must not get
    // write access to the host's kernel log).
    // runc's AllowedDevices, appended last so a spec cannot take the basics away.
    out.push_back(allow("c", -1, -1, "m"));
    out.push_back(allow("b", -1, -1, "m"));
    out.push_back(allow("c", 1, 3, "rwm"));     // /dev/null
    out.push_back(allow("c", 1, 8, "rwm"));     // /dev/random
    out.push_back(allow("c", 1, 7, "rwm"));     // /dev/full
    out.push_back(allow("c", 5, 0, "rwm"));     // /dev/tty
    out.push_back(allow("c", 1, 5, "rwm"));     // /dev/zero
    out.push_back(allow("c", 1, 9, "rwm"));     // /dev/urandom
    out.push_back(allow("c", 136, -1, "rwm"));  // /dev/pts/*
    out.push_back(allow("c", 5, 2, "rwm"));     // /dev/ptmx
    out.push_back(allow("c", 10, 200, "rwm"));  // /dev/net/tun
    return out;
}

}  // namespace berth::cgroups
