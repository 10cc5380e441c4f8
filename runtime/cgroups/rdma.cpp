// The rdma controller (same rdma.max syntax on v1 and v2).
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
Status write_rdma(const std::string& dir, const std::map<std::string, spec::Rdma>& r) {
    for (const auto& [hca, l] : r) {
        if (hca.empty() || hca.find_first_of(" \n") != std::string::npos)
            return error("rdma: invalid device name '" + hca + "'");
        std::string v = hca;
        if (l.hca_handles) v += " hca_handle=" + std::to_string(*l.hca_handles);
        if (l.hca_objects) v += " hca_object=" + std::to_string(*l.hca_objects);
        TRY(knob::write(dir, "rdma.max", v));
    }
    return ok();
}
}  // namespace

Status v1::rdma(const std::string& dir, const std::map<std::string, spec::Rdma>& r) {
    return write_rdma(dir, r);
}
Status v2::rdma(const std::string& dir, const std::map<std::string, spec::Rdma>& r) {
    return write_rdma(dir, r);
}

}  // namespace berth::cgroups
