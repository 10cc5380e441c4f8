// The block I/O controller: v1 blkio (weights, bfq variants, throttles) and v2 io (io.weight
// or io.bfq.weight, io.max).
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {
std::string dev(int64_t major, int64_t minor) {
    return std::to_string(major) + ":" + std::to_string(minor);
}
}  // namespace

Status v1::blkio(const std::string& dir, const spec::BlockIO& b) {
    // Kernels with BFQ and without CFQ only have the blkio.bfq.* weight files.
    const bool bfq = !knob::exists(dir, "blkio.weight") && knob::exists(dir, "blkio.bfq.weight");
    const std::string wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
    if (b.weight && *b.weight != 0) TRY(knob::write(dir, wfile, std::to_string(*b.weight)));
    if (b.leaf_weight && *b.leaf_weight != 0)
        TRY(knob::write(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
    for (const auto& wd : b.weight_device) {
        if (wd.weight && *wd.weight != 0)
            TRY(knob::write(dir, wfile + "_device",
                            dev(wd.major, wd.minor) + " " + std::to_string(*wd.weight)));
        if (wd.leaf_weight && *wd.leaf_weight != 0)
            TRY(knob::write(dir, "blkio.leaf_weight_device",
                            dev(wd.major, wd.minor) + " " + std::to_string(*wd.leaf_weight)));
    }
    struct {
        const std::vector<spec::ThrottleDevice>* list;
        const char* file;
    } const throttles[] = {
        {&b.throttle_read_bps_device, "blkio.throttle.read_bps_device"},
        {&b.throttle_write_bps_device, "blkio.throttle.write_bps_device"},
        {&b.throttle_read_iops_device, "blkio.throttle.read_iops_device"},
        {&b.throttle_write_iops_device, "blkio.throttle.write_iops_device"},
    };
    for (const auto& t : throttles)
        for (const auto& d : *t.list)
            TRY(knob::write(dir, t.file, dev(d.major, d.minor) + " " + std::to_string(d.rate)));
    return ok();
}

Status v2::io(const std::string& dir, const spec::BlockIO& b) {
    const bool bfq = knob::exists(dir, "io.bfq.weight");
    if (b.weight && *b.weight != 0) {
        // io.bfq.weight takes the v1 range as is; io.weight needs the 1-10000 scale.
        if (bfq)
            TRY(knob::write(dir, "io.bfq.weight", std::to_string(*b.weight)));
        else
            TRY(knob::write(dir, "io.weight",
                            std::to_string(blkio_weight_to_io_weight(*b.weight))));
    }
    for (const auto& wd : b.weight_device) {
        if (!wd.weight || *wd.weight == 0) continue;
        if (bfq)
            TRY(knob::write(dir, "io.bfq.weight",
                            dev(wd.major, wd.minor) + " " + std::to_string(*wd.weight)));
        else
            TRY(knob::write(dir, "io.weight",
                            dev(wd.major, wd.minor) + " " +
                                std::to_string(blkio_weight_to_io_weight(*wd.weight))));
    }
    struct {
        const std::vector<spec::ThrottleDevice>* list;
        const char* key;
    } const throttles[] = {
        {&b.throttle_read_bps_device, "rbps"},
        {&b.throttle_write_bps_device, "wbps"},
        {&b.throttle_read_iops_device, "riops"},
        {&b.throttle_write_iops_device, "wiops"},
    };
    for (const auto& t : throttles)
        for (const auto& d : *t.list)
            TRY(knob::write(dir, "io.max",
                            dev(d.major, d.minor) + " " + t.key + "=" +
                                (d.rate == 0 ? std::string("max") : std::to_string(d.rate))));
    return ok();
}

}  // namespace berth::cgroups
