// rlimits by name.
#include "runtime/linux/rlimits.hpp"

#include <cstring>
#include <string>

namespace berth::runtime::linux_ {

namespace {
struct Named {
    const char* name;
    int resource;
};
constexpr Named kLimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};
}  // namespace

Result<std::vector<RlimitSetting>> plan_rlimits(const spec::Process& p, const std::string& field) {
    std::vector<RlimitSetting> out;
    for (size_t i = 0; i < p.rlimits.size(); ++i) {
        const auto& r = p.rlimits[i];
        std::string f = field + ".rlimits[" + std::to_string(i) + "]";
        int res = -1;
        for (const auto& n : kLimits)
            if (r.type == n.name) res = n.resource;
        if (res < 0) return error(f + ".type: unknown rlimit '" + r.type + "'");
        if (r.soft > r.hard) return error(f + ": soft limit is above the hard limit");
        for (const auto& o : out)
            if (o.resource == res) return error(f + ".type: '" + r.type + "' given twice");
        out.push_back({res, {static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)}});
    }
    return out;
}

Status apply_rlimits(const std::vector<RlimitSetting>& r) {
    for (const auto& l : r)
        if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &l.value) < 0)
            return sys_error("setrlimit " + std::to_string(l.resource));
    return ok();
}

}  // namespace berth::runtime::linux_
