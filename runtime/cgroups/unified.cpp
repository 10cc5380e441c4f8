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

}  // namespace berth::cgroups
