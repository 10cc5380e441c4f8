// Manager: where one cgroup lives in every hierarchy, creating it and applying resources.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/file.hpp"
#include "base/log.hpp"
#include "base/mountinfo.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {

// Lexically cleans an absolute path; ".." is refused so a config cannot climb out of the
// hierarchy (or out of the runtime's own cgroup for relative paths).
Result<std::string> clean(const std::string& p) {
    std::string out;
    std::istringstream in(p);
    std::string comp;
    while (std::getline(in, comp, '/')) {
        if (comp.empty() || comp == ".") continue;
        if (comp == "..") return error("cgroupsPath '" + p + "': '..' is not allowed");
        out += "/" + comp;
    }
    return out.empty() ? std::string("/") : out;
}

std::string join(const std::string& a, const std::string& b) {
    if (b.empty() || b == "/") return a;
    if (a.empty() || a == "/") return b;
    return a + b;
}

// Where `cg` (a path inside the hierarchy) is under a mount whose root is `root`.
std::string under_mount(const std::string& mnt, const std::string& root, const std::string& cg) {
    if (root != "/" && (cg == root || cg.starts_with(root + "/")))
        return mnt + (cg == root ? "" : cg.substr(root.size()));
    return cg == "/" ? mnt : mnt + cg;
}

}  // namespace

Result<Manager> Manager::create(const std::string& cgroups_path, const std::string& id,
                                bool systemd) {
    Layout l = TRY(detect());
    return create(l, cgroups_path, id, systemd, TRY(read_proc_cgroup()));
}

Result<Manager> Manager::create(const Layout& l, const std::string& cgroups_path,
                                const std::string& id, bool systemd,
                                const std::map<std::string, std::string>& own) {
    Manager m;
    m.mode_ = l.mode;
    std::string p = cgroups_path;
    bool relative = false;
    if (systemd) {
        std::string expanded = TRY(systemd_path(cgroups_path, id));
        if (!systemd_running())
            return error("cgroupsPath '" + cgroups_path +
                         "': --systemd-cgroup needs a running systemd (none is reachable at "
                         "/run/systemd/private)");
        p = expanded;
    } else if (p.empty()) {
        if (id.empty()) return error("cgroup: neither cgroupsPath nor container id given");
        p = "/berth/" + id;
    } else if (p.front() != '/') {
        if (p.find(':') != std::string::npos)
            return error("cgroupsPath '" + p +
                         "': looks like a systemd \"slice:prefix:name\" path, but "
                         "--systemd-cgroup was not given");
        relative = true;
    }
    std::string cg = TRY(clean(p));
    m.cgpath_ = relative ? p : cg;
    auto own_of = [&](const std::string& key) {
        auto it = own.find(key);
        return it == own.end() ? std::string("/") : it->second;
    };
    for (const auto& mount : l.v1) {
        std::string full = relative ? join(own_of(mount.controllers.front()), cg) : cg;
        std::string dir = under_mount(mount.mountpoint, mount.root, full);
        for (const auto& c : mount.controllers)
            m.v1_[c] = dir;
    }
    if (!l.unified.empty()) {
        std::string full = relative ? join(own_of(""), cg) : cg;
        m.v2_ = under_mount(l.unified, l.unified_root, full);
        m.unified_mount_ = l.unified;
        for (const auto& c : l.v2_controllers)
            if (l.on_v2(c)) m.v2_available_.insert(c);
        // Pure v2 drives everything there. On hybrid the unified hierarchy is for membership
        // (cgroup.kill, cgroup.events) like runc does; a controller living only there
        // (hugetlb here) is enabled when a resource asks for it, because a controller
        // enabled in any subtree_control is bound to cgroup2 and can no longer be mounted
        // as v1 (crun's workaround on these hosts).
        if (l.mode == Mode::v2) m.v2_controllers_ = m.v2_available_;
    }
    if (m.v1_.empty() && m.v2_.empty()) return error("cgroup: no hierarchy to place '" + p + "'");
    // /berth, the parent of defaulted paths, is berth's own and stays once made (as the state
    // root /run/berth does): making and removing it in every hierarchy around each container
    // doubled the cgroup work of a lone `run` (docs/cgroups.md).
    if (cgroups_path.empty() && !systemd) {
        for (const auto& d : m.v1_dirs())
            m.kept_.push_back(d.substr(0, d.rfind('/')));
        if (!m.v2_.empty()) m.kept_.push_back(m.v2_.substr(0, m.v2_.rfind('/')));
    }
    return m;
}

std::vector<std::string> Manager::v1_dirs() const {
    std::vector<std::string> out;
    for (const auto& [c, d] : v1_) {
        bool seen = false;
        for (const auto& o : out)
            seen = seen || o == d;
        if (!seen) out.push_back(d);
    }
    return out;
}

std::string Manager::path(const std::string& controller) const {
    if (controller.empty()) return v2_;
    if (auto it = v1_.find(controller); it != v1_.end()) return it->second;
    if (v2_controllers_.count(controller)) return v2_;
    return "";
}

namespace {
// Makes every missing directory from the mount point down, running `fix` on each new one
// and recording it in `created`. A parent can vanish between our mkdir of it and of its
// child (another berth removing an empty /berth): the chain is retried then.
template <typename F>
Status mkdir_chain(const std::string& dir, F fix, std::vector<std::string>& created) {
    for (int attempt = 0;; ++attempt) {
        if (::mkdir(dir.c_str(), 0755) == 0) {
            created.push_back(dir);
            return fix(dir);
        }
        // Existing (made by a concurrent create, or a parent another container shares): fixed
        // up all the same, since its maker may not have got that far yet.
        if (errno == EEXIST) return fix(dir);
        if (errno != ENOENT || attempt == 5) return sys_error("create cgroup " + dir);
        auto slash = dir.rfind('/');
        if (slash == 0 || slash == std::string::npos) return sys_error("create cgroup " + dir);
        TRY(mkdir_chain(dir.substr(0, slash), fix, created));
    }
}

// A new v1 cpuset is empty and cannot take tasks (ENOSPC) until it has cpus and mems. They
// are copied from the parent, after filling the parent first if it is still empty: a
// container created in parallel may have just made that parent and not filled it yet.
Status fill_cpuset(const std::string& dir, int depth = 0) {
    for (const char* k : {"cpuset.cpus", "cpuset.mems"}) {
        auto cur = knob::read(dir, k);
        if (!cur) return std::move(cur).error();  // the hierarchy's root ends the walk
        if (!cur.value().empty()) continue;
        std::string parent = dir.substr(0, dir.rfind('/'));
        auto v = knob::read(parent, k);
        if (v && v.value().empty() && depth < 32) {
            TRY(fill_cpuset(parent, depth + 1));
            v = knob::read(parent, k);
        }
        if (!v) return std::move(v).error();
        TRY(knob::write(dir, k, v.value()));
    }
    return ok();
}

bool contains_word(const std::string& text, const std::string& word) {
    std::istringstream in(text);
    std::string w;
    while (in >> w)
        if (w == word) return true;
    return false;
}

}  // namespace

// A v2 limit file that sets nothing: "max", or the page-aligned LONG_MAX the kernel prints for
// a cgroup whose hugetlb controller came back from a v1 hierarchy (9223372036854771712).
bool unlimited(const std::string& v) {
    if (v == "max") return true;
    unsigned long long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && p == v.data() + v.size() && n >= (1ULL << 62);
}

bool v2_in_use(const std::string& dir, const std::string& ctl) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    std::vector<std::string> subs;
    while (struct dirent* e = ::readdir(d))
        if (e->d_type == DT_DIR && e->d_name[0] != '.') subs.push_back(e->d_name);
    ::closedir(d);
    for (const auto& s : subs) {
        std::string sub = dir + "/" + s;
        if (contains_word(value_or(knob::read(sub, "cgroup.subtree_control"), std::string()), ctl))
            return true;
        DIR* k = ::opendir(sub.c_str());
        if (!k) continue;
        bool used = false;
        while (struct dirent* e = ::readdir(k)) {
            std::string n = e->d_name;
            if (!n.starts_with(ctl + ".") || n.size() < 4 || n.substr(n.size() - 4) != ".max")
                continue;
            auto v = knob::read(sub, n);
            if (v && !unlimited(v.value())) used = true;
        }
        ::closedir(k);
        if (used || v2_in_use(sub, ctl)) return true;
    }
    return false;
}

Status Manager::make() {
    std::vector<std::string> created;
    for (const auto& d : v1_dirs()) {
        const bool cpuset = path("cpuset") == d;
        auto st = mkdir_chain(
            d,
            [cpuset](const std::string& dir) -> Status { return cpuset ? fill_cpuset(dir) : ok(); },
            created);
        if (!st) {
            removable_.insert(removable_.end(), created.begin(), created.end());
            return st;
        }
    }
    if (!v2_.empty()) {
        // Pure v2: controllers must be enabled in every ancestor's subtree_control for the
        // files to appear here. A level that refuses (processes in an inner node) is left as
        // is and the knob write later names what is missing.
        auto st = mkdir_chain(
            v2_,
            [&](const std::string& dir) -> Status {
                if (v2_controllers_.empty()) return ok();
                std::string parent = dir.substr(0, dir.rfind('/'));
                auto avail = knob::read(parent, "cgroup.controllers");
                if (!avail) return ok();
                std::istringstream in(avail.value());
                std::string c;
                while (in >> c) {
                    if (!v2_controllers_.count(c)) continue;
                    auto st = knob::write(parent, "cgroup.subtree_control", "+" + c);
                    if (!st)
                        warnings_.push_back("cannot enable " + c + " in " + parent + ": " +
                                            st.error().str());
                }
                return ok();
            },
            created);
        if (!st) {
            removable_.insert(removable_.end(), created.begin(), created.end());
            return st;
        }
    }
    // The leaves themselves are removed by destroy(); only the parents are remembered, except
    // berth's own /berth.
    std::vector<std::string> leaves = v1_dirs();
    leaves.push_back(v2_);
    for (const auto& c : created)
        if (std::find(leaves.begin(), leaves.end(), c) == leaves.end() &&
            std::find(kept_.begin(), kept_.end(), c) == kept_.end() &&
            std::find(removable_.begin(), removable_.end(), c) == removable_.end())
            removable_.push_back(c);
    return ok();
}

Status Manager::enable_v2(const std::string& ctl) {
    if (v2_controllers_.count(ctl)) return ok();
    if (!v2_available_.count(ctl) || v2_.empty() || unified_mount_.empty() ||
        !v2_.starts_with(unified_mount_ + "/"))
        return error(std::string("linux.resources: the ") + ctl +
                     " cgroup controller is not available on this host");
    // Walk from the mount point down to the cgroup's parent, enabling at each level.
    std::string dir = unified_mount_;
    size_t pos = unified_mount_.size();
    while (pos < v2_.size()) {
        std::string sc = TRY(knob::read(dir, "cgroup.subtree_control"));
        if (!contains_word(sc, ctl)) {
            TRY_CTX(knob::write(dir, "cgroup.subtree_control", "+" + ctl),
                    "enable the " + ctl + " controller on cgroup v2");
            enabled_.emplace_back(dir, ctl);
        }
        pos = v2_.find('/', pos + 1);
        if (pos == std::string::npos) break;
        dir = v2_.substr(0, pos);
    }
    v2_controllers_.insert(ctl);
    return ok();
}

Status Manager::apply(const spec::Resources& r) {
    // Before anything is written, on every layout (runc refuses both too).
    TRY(check_unified_conflicts(r));
    auto where = [&](const char* ctl, bool needed) -> Result<std::pair<std::string, bool>> {
        if (auto it = v1_.find(ctl); it != v1_.end()) return std::make_pair(it->second, false);
        if (v2_controllers_.count(ctl)) return std::make_pair(v2_, true);
        if (!needed) return std::make_pair(std::string(), false);
        if (v2_available_.count(ctl)) {
            TRY(enable_v2(ctl));
            return std::make_pair(v2_, true);
        }
        if (delegated_)
            return error(std::string("linux.resources: the ") + ctl +
                         " cgroup controller is not available in the delegated cgroup v2 "
                         "subtree '" +
                         v2_ + "' (rootless: cgroup v1 hierarchies are never written)");
        return error(std::string("linux.resources: the ") + ctl +
                     " cgroup controller is not available on this host");
    };
    if (r.memory) {
        auto [d, v2] = TRY(where("memory", true));
        TRY_CTX(v2 ? v2::memory(d, *r.memory, warnings_) : v1::memory(d, *r.memory, warnings_),
                "linux.resources.memory");
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        bool want_cpu = c.shares || c.quota || c.period || c.burst || c.realtime_runtime ||
                        c.realtime_period || c.idle;
        if (want_cpu) {
            auto [d, v2] = TRY(where("cpu", true));
            TRY_CTX(v2 ? v2::cpu(d, c, warnings_) : v1::cpu(d, c, warnings_),
                    "linux.resources.cpu");
        }
        if (!c.cpus.empty() || !c.mems.empty()) {
            auto [d, v2] = TRY(where("cpuset", true));
            TRY_CTX(v2 ? v2::cpuset(d, c) : v1::cpuset(d, c), "linux.resources.cpu");
        }
    }
    if (r.pids && r.pids->limit) {
        auto [d, v2] = TRY(where("pids", true));
        TRY_CTX(v2 ? v2::pids(d, *r.pids) : v1::pids(d, *r.pids), "linux.resources.pids");
    }
    if (r.block_io) {
        const auto& b = *r.block_io;
        bool want = b.weight || b.leaf_weight || !b.weight_device.empty() ||
                    !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
                    !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty();
        if (want) {
            auto [d, v2] = TRY(where(mode_ == Mode::v2 ? "io" : "blkio", true));
            TRY_CTX(v2 ? v2::io(d, b) : v1::blkio(d, b), "linux.resources.blockIO");
        }
    }
    if (!r.hugepage_limits.empty()) {
        auto [d, v2] = TRY(where("hugetlb", true));
        TRY_CTX(v2 ? v2::hugetlb(d, r.hugepage_limits) : v1::hugetlb(d, r.hugepage_limits),
                "linux.resources.hugepageLimits");
    }
    if (r.network) {
        if (r.network->class_id) {
            auto [d, v2] = TRY(where("net_cls", false));
            if (d.empty() || v2)
                warnings_.push_back("network.classID ignored: no net_cls v1 controller");
            else
                TRY_CTX(v1::net_cls(d, *r.network), "linux.resources.network");
        }
        if (!r.network->priorities.empty()) {
            auto [d, v2] = TRY(where("net_prio", false));
            if (d.empty() || v2)
                warnings_.push_back("network.priorities ignored: no net_prio v1 controller");
            else
                TRY_CTX(v1::net_prio(d, *r.network), "linux.resources.network");
        }
    }
    if (!r.rdma.empty()) {
        auto [d, v2] = TRY(where("rdma", true));
        TRY_CTX(v2 ? v2::rdma(d, r.rdma) : v1::rdma(d, r.rdma), "linux.resources.rdma");
    }
    if (!r.devices.empty()) {
        if (auto it = v1_.find("devices"); it != v1_.end())
            TRY(v1::devices(it->second, r.devices));
        else if (mode_ == Mode::v2)
            TRY(v2::devices(v2_, r.devices));
        else
            warnings_.push_back("linux.resources.devices ignored: no devices controller");
    }
    if (!r.unified.empty()) {
        if (v2_.empty())
            return error("linux.resources.unified: cgroup v2 is not mounted on this host");
        for (const auto& [k, v] : r.unified) {
            std::string ctl = k.substr(0, k.find('.'));
            if (!v2_controllers_.count(ctl) && v2_available_.count(ctl)) TRY(enable_v2(ctl));
        }
        TRY(v2::unified(v2_, r.unified, v2_available_));
    }
    return ok();
}

Status Manager::add_pid(pid_t pid) {
    const std::string p = std::to_string(pid);
    for (const auto& d : v1_dirs())
        TRY_CTX(knob::write(d, "cgroup.procs", p), "join cgroup");
    if (!v2_.empty()) TRY_CTX(knob::write(v2_, "cgroup.procs", p), "join cgroup");
    return ok();
}

bool Manager::exists() const {
    for (const auto& d : v1_dirs())
        if (path_exists(d)) return true;
    return !v2_.empty() && path_exists(v2_);
}

nlohmann::json Manager::to_state() const {
    nlohmann::json j;
    j["mode"] = mode_name(mode_);
    j["path"] = cgpath_;
    j["v1"] = v1_;
    j["v2"] = v2_;
    j["v2_controllers"] = v2_controllers_;
    j["v2_available"] = v2_available_;
    j["unified_mount"] = unified_mount_;
    j["removable"] = removable_;
    j["enabled"] = enabled_;
    if (shared_) j["shared"] = true;
    if (delegated_) j["delegated"] = true;
    return j;
}

void Manager::use_delegated_v2_only() {
    v1_.clear();
    delegated_ = true;
}

std::map<std::string, std::string> Manager::paths() const {
    std::map<std::string, std::string> out = v1_;
    if (!v2_.empty()) out[""] = v2_;
    return out;
}

Result<Manager> Manager::from_paths(const std::map<std::string, std::string>& paths) {
    if (paths.empty()) return error("cgroup state: no cgroup paths recorded");
    Layout l = TRY(detect());
    Manager m;
    m.mode_ = l.mode;
    for (const auto& [c, d] : paths) {
        if (d.find("/../") != std::string::npos || d.empty() || d.front() != '/')
            return error("cgroup state: bad path '" + d + "'");
        if (c.empty())
            m.v2_ = d;
        else
            m.v1_[c] = d;
    }
    if (!m.v2_.empty()) {
        m.unified_mount_ = l.unified;
        for (const auto& c : l.v2_controllers)
            if (l.on_v2(c)) m.v2_available_.insert(c);
        // Without the saved set, assume what a hybrid cgroup may use is enabled (paths only
        // come from state written before berth enabled hybrid controllers on demand).
        m.v2_controllers_ = m.v2_available_;
    }
    // The hierarchy-relative path, for messages: a directory minus its mount point.
    std::string dir = m.v2_, mnt = l.unified;
    if (dir.empty()) {
        dir = m.v1_.begin()->second;
        auto it = l.v1_by_controller.find(m.v1_.begin()->first);
        mnt = it == l.v1_by_controller.end() ? "" : l.v1[it->second].mountpoint;
    }
    m.cgpath_ = !mnt.empty() && dir.starts_with(mnt) ? dir.substr(mnt.size()) : dir;
    return m;
}

Result<Manager> Manager::from_state(const nlohmann::json& j) {
    try {
        Manager m;
        std::string mode = j.at("mode").get<std::string>();
        if (mode == "v1")
            m.mode_ = Mode::v1;
        else if (mode == "v2")
            m.mode_ = Mode::v2;
        else if (mode == "hybrid")
            m.mode_ = Mode::hybrid;
        else
            return error("cgroup state: unknown mode '" + mode + "'");
        m.cgpath_ = j.at("path").get<std::string>();
        m.v1_ = j.at("v1").get<std::map<std::string, std::string>>();
        m.v2_ = j.at("v2").get<std::string>();
        m.v2_controllers_ = j.at("v2_controllers").get<std::set<std::string>>();
        // State from before on-demand enabling has none of these: then what was enabled is
        // all that is available, and nothing is known to be removable.
        m.v2_available_ = j.value("v2_available", m.v2_controllers_);
        m.unified_mount_ = j.value("unified_mount", std::string());
        m.removable_ = j.value("removable", std::vector<std::string>());
        m.enabled_ = j.value("enabled", std::vector<std::pair<std::string, std::string>>());
        m.shared_ = j.value("shared", false);
        m.delegated_ = j.value("delegated", false);
        for (const auto& d : m.removable_)
            if (d.find("/../") != std::string::npos || d.empty() || d.front() != '/')
                return error("cgroup state: bad path '" + d + "'");
        for (const auto& [c, d] : m.v1_)
            if (d.find("/../") != std::string::npos)
                return error("cgroup state: bad path '" + d + "'");
        return m;
    } catch (const nlohmann::json::exception& e) {
        return error(std::string("cgroup state: ") + e.what());
    }
}

}  // namespace berth::cgroups
