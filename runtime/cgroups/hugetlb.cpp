// The hugetlb controller: v1 hugetlb.<size>.limit_in_bytes, v2 hugetlb.<size>.max plus the
// reservation limit hugetlb.<size>.rsvd.max where the kernel has it.
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
Status check_size(const std::string& dir, const std::string& size, const char* suffix) {
    if (size.empty() || size.find('/') != std::string::npos)
        return error("hugepageLimits: invalid pageSize '" + size + "'");
    if (!knob::exists(dir, "hugetlb." + size + suffix))
        return error("hugepageLimits: page size '" + size + "' is not supported by the kernel");
    return ok();
}
}  // namespace

Status v1::hugetlb(const std::string& dir, const std::vector<spec::HugepageLimit>& h) {
    for (const auto& l : h) {
        TRY(check_size(dir, l.page_size, ".limit_in_bytes"));
        TRY(knob::write(dir, "hugetlb." + l.page_size + ".limit_in_bytes",
                        std::to_string(l.limit)));
    }
    return ok();
}

Status v2::hugetlb(const std::string& dir, const std::vector<spec::HugepageLimit>& h) {
    for (const auto& l : h) {
        TRY(check_size(dir, l.page_size, ".max"));
        TRY(knob::write(dir, "hugetlb." + l.page_size + ".max", std::to_string(l.limit)));
        // Without the reservation limit, a task can reserve pages at mmap time past the
        // limit and be SIGBUSed at fault time instead of failing mmap (crun sets both).
        const std::string rsvd = "hugetlb." + l.page_size + ".rsvd.max";
        if (knob::exists(dir, rsvd)) TRY(knob::write(dir, rsvd, std::to_string(l.limit)));
    }
    return ok();
}

}  // namespace berth::cgroups
