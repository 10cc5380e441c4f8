// linux.resources.unified: raw cgroup v2 key/values, checked against the controllers the
// cgroup has so a key cannot reach outside its directory or a controller living on v1.
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

Status v2::unified(const std::string& dir, const std::map<std::string, std::string>& kv,
                   const std::set<std::string>& allowed_controllers) {
    for (const auto& [k, v] : kv) {
        const std::string where = "linux.resources.unified[\"" + k + "\"]";
        if (k.empty() || k.find('/') != std::string::npos || k == "." || k == ".." ||
            k.find('.') == std::string::npos)
            return error(where + ": not a cgroup file name");
        std::string ctl = k.substr(0, k.find('.'));
        if (ctl != "cgroup" && !allowed_controllers.count(ctl))
            return error(where + ": controller '" + ctl + "' is not available on cgroup v2");
        auto st = knob::write(dir, k, v);
        if (!st) {
            if (st.error().code() == ENOENT)
                return Error::sys(ENOENT, where + ": no such cgroup file");
            return std::move(st).error().with_context(where);
        }
    }
    return ok();
}

Status check_unified_conflicts(const spec::Resources& r) {
    if (r.unified.empty()) return ok();
    // Which field set a controller: "" = none. Whatever a memory object holds sets memory.
    auto field_of = [&](const std::string& ctl) -> std::string {
        if (ctl == "memory" && r.memory) return "memory";
        if (ctl == "cpu" && r.cpu &&
            (r.cpu->shares || r.cpu->quota || r.cpu->period || r.cpu->burst ||
             r.cpu->realtime_runtime || r.cpu->realtime_period || r.cpu->idle))
            return "cpu";
        if (ctl == "cpuset" && r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty()))
            return "cpu";
        if (ctl == "pids" && r.pids && r.pids->limit) return "pids";
        if (ctl == "io" && r.block_io) return "blockIO";
        if (ctl == "hugetlb" && !r.hugepage_limits.empty()) return "hugepageLimits";
        if (ctl == "rdma" && !r.rdma.empty()) return "rdma";
        return "";
    };
    for (const auto& [k, v] : r.unified) {
        std::string ctl = k.substr(0, k.find('.'));
        std::string f = field_of(ctl);
        if (!f.empty())
            return error("invalid configuration: linux.resources." + f +
                         " and linux.resources.unified[\"" + k + "\"] both set the " + ctl +
                         " controller");
    }
    return ok();
}

}  // namespace berth::cgroups
