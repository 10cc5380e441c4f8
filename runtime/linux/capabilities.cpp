// Capability sets via libcap.
#include "runtime/linux/capabilities.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <string>

namespace berth::runtime::linux_ {

namespace {
Result<std::vector<cap_value_t>> resolve(const std::optional<std::vector<std::string>>& names,
                                         const std::string& field) {
    std::vector<cap_value_t> out;
    if (!names) return out;
    cap_value_t last = static_cast<cap_value_t>(cap_max_bits()) - 1;
    for (size_t i = 0; i < names->size(); ++i) {
        const std::string& n = (*names)[i];
        std::string lower = n;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        cap_value_t v;
        if (!lower.starts_with("cap_") || cap_from_name(lower.c_str(), &v) < 0)
            return error(field + "[" + std::to_string(i) + "]: unknown capability '" + n + "'");
        if (v > last) continue;
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    }
    return out;
}
}  // namespace

Result<std::optional<CapSets>> plan_capabilities(const spec::Process& p, const std::string& field) {
    if (!p.capabilities) return std::optional<CapSets>{};
    const auto& c = *p.capabilities;
    CapSets s;
    s.bounding = TRY(resolve(c.bounding, field + ".capabilities.bounding"));
    s.effective = TRY(resolve(c.effective, field + ".capabilities.effective"));
    s.inheritable = TRY(resolve(c.inheritable, field + ".capabilities.inheritable"));
    s.permitted = TRY(resolve(c.permitted, field + ".capabilities.permitted"));
    s.ambient = TRY(resolve(c.ambient, field + ".capabilities.ambient"));
    return std::optional<CapSets>(std::move(s));
}

Status drop_bounding(const CapSets& c) {
    int last = cap_max_bits() - 1;
    for (int v = 0; v <= last; ++v) {
        if (std::find(c.bounding.begin(), c.bounding.end(), v) != c.bounding.end()) continue;
        if (::prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
            return sys_error("drop capability " + std::to_string(v) + " from the bounding set");
    }
    return ok();
}

Status apply_capabilities(const CapSets& c) {
    cap_t caps = cap_init();
    if (!caps) return sys_error("cap_init");
    auto set = [&](const std::vector<cap_value_t>& v, cap_flag_t f) {
        return v.empty() || cap_set_flag(caps, f, int(v.size()), v.data(), CAP_SET) == 0;
    };
    bool fine = set(c.effective, CAP_EFFECTIVE) && set(c.permitted, CAP_PERMITTED) &&
                set(c.inheritable, CAP_INHERITABLE);
    if (!fine || cap_set_proc(caps) < 0) {
        int e = errno;
        cap_free(caps);
        return Error::sys(e, "set capabilities");
    }
    cap_free(caps);
    // One PR_CAP_AMBIENT_CLEAR_ALL (libcap's cap_reset_ambient first probes every capability
    // with a prctl of its own); EINVAL: a kernel without ambient capabilities.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sys_error("clear ambient capabilities");
    // An ambient capability must also be permitted and inheritable; like runc (which only
    // warns), the others are left out rather than failing: runc's own default spec asks for
    // ambient capabilities without inheritable ones.
    auto in = [](const std::vector<cap_value_t>& s, cap_value_t v) {
        return std::find(s.begin(), s.end(), v) != s.end();
    };
    for (cap_value_t v : c.ambient)
        if (in(c.permitted, v) && in(c.inheritable, v) && cap_set_ambient(v, CAP_SET) < 0)
            return sys_error(std::string("raise ambient capability ") + cap_to_name(v));
    return ok();
}

}  // namespace berth::runtime::linux_
