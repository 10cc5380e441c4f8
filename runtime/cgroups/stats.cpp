// Manager: resource usage in runc's `events --stats` shape, and OOM notification.
#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {

// runc's encoder writes struct fields in declaration order: keep insertion order.
using json = nlohmann::ordered_json;

std::map<std::string, uint64_t> keyed(const std::string& dir, const std::string& name) {
    std::map<std::string, uint64_t> out;
    auto s = knob::read(dir, name);
    if (!s) return out;
    std::istringstream in(s.value());
    std::string k;
    uint64_t v;
    while (in >> k >> v)
        out[k] = v;
    return out;
}

uint64_t u64(const std::string& dir, const std::string& name) {
    return value_or(knob::read_u64(dir, name), uint64_t{0});
}

// Go's omitempty: a zero number is left out.
void put(json& j, const char* k, uint64_t v) {
    if (v != 0) j[k] = v;
}

std::vector<uint64_t> numbers(const std::string& dir, const std::string& name) {
    std::vector<uint64_t> out;
    auto s = knob::read(dir, name);
    if (!s) return out;
    std::istringstream in(s.value());
    uint64_t v;
    while (in >> v)
        out.push_back(v);
    return out;
}

// The v1 "max" is the largest page-aligned long; runc reports the number as read.
json mem_entry_v1(const std::string& dir, const std::string& prefix) {
    json e = json::object();
    e["limit"] = u64(dir, prefix + ".limit_in_bytes");
    put(e, "usage", u64(dir, prefix + ".usage_in_bytes"));
    put(e, "max", u64(dir, prefix + ".max_usage_in_bytes"));
    e["failcnt"] = u64(dir, prefix + ".failcnt");
    return e;
}

json cpu_v1(const std::string& acct, const std::string& cpu) {
    json c = json::object();
    json usage = json::object();
    const uint64_t tick_ns = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    if (!acct.empty()) {
        put(usage, "total", u64(acct, "cpuacct.usage"));
        auto per = numbers(acct, "cpuacct.usage_percpu");
        if (!per.empty()) usage["percpu"] = per;
        // cpuacct.usage_all: "cpu user system" per line after a header.
        auto all = knob::read(acct, "cpuacct.usage_all");
        if (all) {
            std::istringstream in(all.value());
            std::string line;
            std::getline(in, line);
            std::vector<uint64_t> ku, uu;
            uint64_t n, u, s;
            while (in >> n >> u >> s) {
                uu.push_back(u);
                ku.push_back(s);
            }
            if (!ku.empty()) usage["percpu_kernel"] = ku;
            if (!uu.empty()) usage["percpu_user"] = uu;
        }
        auto st = keyed(acct, "cpuacct.stat");
        usage["kernel"] = st["system"] * tick_ns;
        usage["user"] = st["user"] * tick_ns;
    } else {
        usage["kernel"] = 0;
        usage["user"] = 0;
    }
    c["usage"] = usage;
    json th = json::object();
    if (!cpu.empty()) {
        auto st = keyed(cpu, "cpu.stat");
        put(th, "periods", st["nr_periods"]);
        put(th, "throttledPeriods", st["nr_throttled"]);
        put(th, "throttledTime", st["throttled_time"]);
    }
    c["throttling"] = th;
    return c;
}

json cpu_v2(const std::string& dir) {
    auto st = keyed(dir, "cpu.stat");
    json usage = json::object();
    put(usage, "total", st["usage_usec"] * 1000);
    usage["kernel"] = st["system_usec"] * 1000;
    usage["user"] = st["user_usec"] * 1000;
    json th = json::object();
    put(th, "periods", st["nr_periods"]);
    put(th, "throttledPeriods", st["nr_throttled"]);
    put(th, "throttledTime", st["throttled_usec"] * 1000);
    return json{{"usage", usage}, {"throttling", th}};
}

json memory_v1(const std::string& dir) {
    json m = json::object();
    auto raw = keyed(dir, "memory.stat");
    put(m, "cache", raw["cache"]);
    m["usage"] = mem_entry_v1(dir, "memory");
    m["swap"] = mem_entry_v1(dir, "memory.memsw");
    m["kernel"] = mem_entry_v1(dir, "memory.kmem");
    m["kernelTCP"] = mem_entry_v1(dir, "memory.kmem.tcp");
    if (!raw.empty()) m["raw"] = raw;
    return m;
}

json memory_v2(const std::string& dir) {
    json m = json::object();
    auto raw = keyed(dir, "memory.stat");
    put(m, "cache", raw["file"]);
    auto events = keyed(dir, "memory.events");
    json usage = json::object();
    usage["limit"] = u64(dir, "memory.max");
    put(usage, "usage", u64(dir, "memory.current"));
    put(usage, "max", u64(dir, "memory.peak"));
    usage["failcnt"] = events["max"];
    m["usage"] = usage;
    json swap = json::object();
    swap["limit"] = u64(dir, "memory.swap.max");
    put(swap, "usage", u64(dir, "memory.swap.current"));
    swap["failcnt"] = 0;
    m["swap"] = swap;
    m["kernel"] = json{{"limit", 0}, {"failcnt", 0}};
    m["kernelTCP"] = json{{"limit", 0}, {"failcnt", 0}};
    if (!raw.empty()) m["raw"] = raw;
    return m;
}

json pids_stats(const std::string& dir) {
    json p = json::object();
    put(p, "current", u64(dir, "pids.current"));
    auto max = knob::read(dir, "pids.max");
    if (max && max.value() != "max") put(p, "limit", u64(dir, "pids.max"));
    return p;
}

// "8:0 Read 4096" lines (v1 blkio *_recursive files), "Total" lines skipped.
json blkio_entries(const std::string& dir, const std::string& name) {
    json out = json::array();
    auto s = knob::read(dir, name);
    if (!s) return out;
    std::istringstream in(s.value());
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string dev, op;
        uint64_t v = 0;
        if (!(ls >> dev >> op >> v)) continue;
        auto colon = dev.find(':');
        if (colon == std::string::npos) continue;
        json e = json::object();
        put(e, "major", std::stoull(dev.substr(0, colon)));
        put(e, "minor", std::stoull(dev.substr(colon + 1)));
        e["op"] = op;
        put(e, "value", v);
        out.push_back(e);
    }
    return out;
}

json blkio_v1(const std::string& dir) {
    json b = json::object();
    const bool bfq = knob::exists(dir, "blkio.bfq.io_service_bytes_recursive");
    const std::string p = bfq ? "blkio.bfq." : "blkio.throttle.";
    auto bytes = blkio_entries(dir, p + "io_service_bytes_recursive");
    auto ios = blkio_entries(dir, p + "io_serviced_recursive");
    if (!bytes.empty()) b["ioServiceBytesRecursive"] = bytes;
    if (!ios.empty()) b["ioServicedRecursive"] = ios;
    return b;
}

json io_v2(const std::string& dir) {
    json b = json::object();
    auto s = knob::read(dir, "io.stat");
    if (!s) return b;
    json bytes = json::array(), ios = json::array();
    std::istringstream in(s.value());
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string dev, kv;
        if (!(ls >> dev)) continue;
        auto colon = dev.find(':');
        if (colon == std::string::npos) continue;
        uint64_t maj = std::stoull(dev.substr(0, colon)), min = std::stoull(dev.substr(colon + 1));
        while (ls >> kv) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string k = kv.substr(0, eq);
            uint64_t v = std::stoull(kv.substr(eq + 1));
            const bool is_bytes = k == "rbytes" || k == "wbytes";
            if (!is_bytes && k != "rios" && k != "wios") continue;
            json e = json::object();
            put(e, "major", maj);
            put(e, "minor", min);
            e["op"] = k[0] == 'r' ? "Read" : "Write";
            put(e, "value", v);
            (is_bytes ? bytes : ios).push_back(e);
        }
    }
    if (!bytes.empty()) b["ioServiceBytesRecursive"] = bytes;
    if (!ios.empty()) b["ioServicedRecursive"] = ios;
    return b;
}

json hugetlb_stats(const std::string& dir, bool v2) {
    json h = json::object();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return h;
    std::vector<std::string> sizes;
    const std::string suffix = v2 ? ".max" : ".limit_in_bytes";
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (!n.starts_with("hugetlb.") || n.size() <= 8 + suffix.size()) continue;
        if (n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
        std::string size = n.substr(8, n.size() - 8 - suffix.size());
        if (size.find('.') == std::string::npos) sizes.push_back(size);
    }
    ::closedir(d);
    std::sort(sizes.begin(), sizes.end());  // a Go map is encoded with sorted keys
    for (const auto& s : sizes) {
        json e = json::object();
        const std::string p = "hugetlb." + s;
        if (v2) {
            put(e, "usage", u64(dir, p + ".current"));
            e["failcnt"] = keyed(dir, p + ".events")["max"];
        } else {
            put(e, "usage", u64(dir, p + ".usage_in_bytes"));
            put(e, "max", u64(dir, p + ".max_usage_in_bytes"));
            e["failcnt"] = u64(dir, p + ".failcnt");
        }
        h[s] = e;
    }
    return h;
}

// runc's CPUSet: the lists (omitempty), and the v1 flags always (zero on v2).
json cpuset_stats(const std::string& dir, bool v2) {
    json c = json::object();
    auto list = [&](const char* name) {
        std::vector<uint64_t> out;
        auto s = knob::read(dir, name);
        if (!s) return out;
        std::istringstream in(s.value());
        std::string r;
        while (std::getline(in, r, ',')) {
            auto dash = r.find('-');
            if (r.empty()) continue;
            uint64_t a = std::stoull(r.substr(0, dash));
            uint64_t b = dash == std::string::npos ? a : std::stoull(r.substr(dash + 1));
            for (uint64_t i = a; i <= b; ++i)
                out.push_back(i);
        }
        return out;
    };
    auto flag = [&](const char* name) -> uint64_t {
        return v2 ? 0 : u64(dir, std::string("cpuset.") + name);
    };
    auto cpus = list(v2 ? "cpuset.cpus.effective" : "cpuset.cpus");
    auto mems = list(v2 ? "cpuset.mems.effective" : "cpuset.mems");
    if (!cpus.empty()) c["cpus"] = cpus;
    c["cpu_exclusive"] = flag("cpu_exclusive");
    if (!mems.empty()) c["mems"] = mems;
    for (const char* k : {"mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
                          "memory_spread_slab", "memory_pressure", "sched_load_balance"})
        c[k] = flag(k);
    int64_t relax = 0;
    if (!v2) {
        auto s = knob::read(dir, "cpuset.sched_relax_domain_level");
        if (s) relax = std::strtoll(s.value().c_str(), nullptr, 10);
    }
    c["sched_relax_domain_level"] = relax;
    return c;
}

}  // namespace

Result<nlohmann::ordered_json> Manager::stats() const {
    json data = json::object();
    const bool v2 = mode_ == Mode::v2;
    if (v2) {
        data["cpu"] = cpu_v2(v2_);
        data["cpuset"] = cpuset_stats(v2_, true);
        data["memory"] = memory_v2(v2_);
        data["pids"] = pids_stats(v2_);
        data["blkio"] = io_v2(v2_);
    } else {
        data["cpu"] = cpu_v1(path("cpuacct"), path("cpu"));
        data["cpuset"] =
            path("cpuset").empty() ? json::object() : cpuset_stats(path("cpuset"), false);
        data["memory"] = path("memory").empty() ? json::object() : memory_v1(path("memory"));
        data["pids"] = path("pids").empty() ? json::object() : pids_stats(path("pids"));
        data["blkio"] = path("blkio").empty() ? json::object() : blkio_v1(path("blkio"));
    }
    std::string h = path("hugetlb");
    data["hugetlb"] = h.empty() ? json::object() : hugetlb_stats(h, h == v2_);
    data["intel_rdt"] = json::object();
    data["network_interfaces"] = nullptr;
    return data;
}

Result<uint64_t> Manager::oom_kills() const {
    std::string d = path("memory");
    if (d.empty()) return error("no memory controller");
    if (d == v2_) return knob::read_keyed(d, "memory.events", "oom_kill");
    return knob::read_keyed(d, "memory.oom_control", "oom_kill");
}

Result<UniqueFd> Manager::oom_notify_fd() const {
    std::string d = path("memory");
    if (d.empty()) return error("no memory controller");
    if (d == v2_) {
        // memory.events changes (and raises IN_MODIFY) on every oom and oom_kill.
        UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (!in) return sys_error("inotify_init1");
        if (::inotify_add_watch(in.get(), (d + "/memory.events").c_str(), IN_MODIFY) < 0)
            return sys_error("watch " + d + "/memory.events");
        return in;
    }
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    if (!efd) return sys_error("eventfd");
    UniqueFd ctl(::open((d + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ctl) return sys_error("open " + d + "/memory.oom_control");
    // "<eventfd> <fd of memory.oom_control>": the kernel signals the eventfd on each OOM.
    TRY(knob::write(d, "cgroup.event_control",
                    std::to_string(efd.get()) + " " + std::to_string(ctl.get())));
    return efd;
}

}  // namespace berth::cgroups
