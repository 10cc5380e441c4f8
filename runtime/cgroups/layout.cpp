// Host cgroup layout detection (v1, v2, hybrid) from mountinfo, and systemd path expansion.
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "base/file.hpp"
#include "base/mountinfo.hpp"
#include "runtime/cgroups/cgroups.hpp"

namespace berth::cgroups {

namespace {

bool is_v1_controller(const std::string& opt) {
    static const char* const kKnown[] = {"cpu",     "cpuacct", "cpuset",   "memory", "devices",
                                         "freezer", "net_cls", "net_prio", "blkio",  "perf_event",
                                         "hugetlb", "pids",    "rdma",     "misc"};
    if (opt.starts_with("name=")) return true;
    for (const char* k : kKnown)
        if (opt == k) return true;
    return false;
}

}  // namespace

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::v1:
            return "v1";
        case Mode::v2:
            return "v2";
        case Mode::hybrid:
            return "hybrid";
    }
    return "?";
}

bool Layout::on_v2(const std::string& controller) const {
    if (mode == Mode::v2) return true;
    if (mode == Mode::v1) return false;
    return !has_v1(controller) && v2_controllers.count(controller) > 0;
}

Result<Layout> parse_layout(const std::string& mountinfo, const std::string& v2_controllers) {
    Layout l;
    bool unified_at_top = false;
    for (const auto& e : parse_mountinfo(mountinfo)) {
        const std::string& fstype = e.fstype;
        const std::string& root = e.root;
        const std::string& mnt = e.mount_point;
        if (fstype == "cgroup2") {
            // The first cgroup2 mount wins; /sys/fs/cgroup itself means a unified host.
            if (l.unified.empty() || mnt == "/sys/fs/cgroup") {
                l.unified = mnt;
                l.unified_root = root;
            }
            if (mnt == "/sys/fs/cgroup") unified_at_top = true;
        } else if (fstype == "cgroup") {
            V1Mount m;
            m.mountpoint = mnt;
            m.root = root;
            for (const auto& opt : e.super_options)
                if (is_v1_controller(opt)) m.controllers.push_back(opt);
            if (m.controllers.empty()) continue;
            bool seen = false;
            for (const auto& c : m.controllers)
                seen = seen || l.v1_by_controller.count(c);
            if (seen) continue;  // a bind mount of a hierarchy already found
            for (const auto& c : m.controllers)
                l.v1_by_controller[c] = l.v1.size();
            l.v1.push_back(std::move(m));
        }
    }
    for (const auto& c : split(v2_controllers, ' ')) {
        std::string t = c;
        while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
            t.pop_back();
        if (!t.empty()) l.v2_controllers.insert(t);
    }
    bool real_v1 = false;
    for (const auto& [c, i] : l.v1_by_controller)
        real_v1 = real_v1 || !c.starts_with("name=");
    if (unified_at_top || (!real_v1 && !l.unified.empty())) {
        l.mode = Mode::v2;
        // A named v1 hierarchy (name=systemd) next to a unified host is not ours to manage.
        l.v1.clear();
        l.v1_by_controller.clear();
    } else if (real_v1) {
        l.mode = l.unified.empty() ? Mode::v1 : Mode::hybrid;
    } else {
        return error("no cgroup hierarchy is mounted (neither cgroup nor cgroup2 in mountinfo)");
    }
    if (l.mode != Mode::v2) l.v2_controllers.erase("");
    return l;
}

Result<Layout> detect() {
    std::string mi = TRY_CTX(read_file("/proc/self/mountinfo"), "detect cgroup layout");
    Layout first = TRY(parse_layout(mi, ""));
    std::string ctl;
    if (!first.unified.empty()) {
        // statfs confirms the mount is cgroup2 (mountinfo can be stale inside some sandboxes).
        struct statfs sfs {};
        if (::statfs(first.unified.c_str(), &sfs) != 0) return sys_error("statfs " + first.unified);
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
            return error("detect cgroup layout: " + first.unified + " is not a cgroup2 mount");
        auto c = read_file(first.unified + "/cgroup.controllers");
        if (c) ctl = c.value();
    }
    return parse_layout(mi, ctl);
}

bool systemd_running() {
    return ::access("/run/systemd/system", F_OK) == 0 &&
           ::access("/run/systemd/private", F_OK) == 0;
}

Result<std::string> systemd_path(const std::string& cgroups_path, const std::string& id) {
    std::string slice = "system.slice", prefix = "berth", name = id;
    if (!cgroups_path.empty()) {
        auto parts = split(cgroups_path, ':');
        if (parts.size() != 3)
            return error("cgroupsPath '" + cgroups_path +
                         "': expected \"slice:prefix:name\" with --systemd-cgroup");
        slice = parts[0].empty() ? "system.slice" : parts[0];
        prefix = parts[1];
        name = parts[2];
    }
    if (slice.size() < 6 || slice.substr(slice.size() - 6) != ".slice" ||
        slice.find('/') != std::string::npos)
        return error("cgroupsPath: invalid slice name '" + slice + "'");
    if (name.empty() || name.find('/') != std::string::npos)
        return error("cgroupsPath: invalid unit name '" + name + "'");
    // systemd nests slices by their dash-separated prefixes: a-b.slice is a.slice/a-b.slice.
    std::string path;
    if (slice != "-.slice") {
        std::string base = slice.substr(0, slice.size() - 6);
        if (base.empty() || base.front() == '-' || base.back() == '-' ||
            base.find("--") != std::string::npos)
            return error("cgroupsPath: invalid slice name '" + slice + "'");
        std::string acc;
        for (const auto& comp : split(base, '-')) {
            acc = acc.empty() ? comp : acc + "-" + comp;
            path += "/" + acc + ".slice";
        }
    }
    std::string unit = name;
    if (unit.size() < 6 || unit.substr(unit.size() - 6) != ".slice")
        unit = (prefix.empty() ? name : prefix + "-" + name) + ".scope";
    return path + "/" + unit;
}

}  // namespace berth::cgroups
