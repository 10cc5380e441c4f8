// The v1 network controllers: net_cls.classid and net_prio.ifpriomap (no v2 equivalent).
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

Status v1::net_cls(const std::string& dir, const spec::Network& n) {
    if (n.class_id) TRY(knob::write(dir, "net_cls.classid", std::to_string(*n.class_id)));
    return ok();
}

Status v1::net_prio(const std::string& dir, const spec::Network& n) {
    for (const auto& p : n.priorities) {
        if (p.name.empty() || p.name.find_first_of(" \n") != std::string::npos)
            return error("network.priorities: invalid interface name '" + p.name + "'");
        TRY(knob::write(dir, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority)));
    }
    return ok();
}

}  // namespace berth::cgroups
