// Manager: freezer, process listing, killing and removal of a cgroup in every hierarchy.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "base/file.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "runtime/cgroups/knob.hpp"

namespace berth::cgroups {

namespace {

using namespace std::chrono_literals;

bool v1_freezer(const std::map<std::string, std::string>& v1) {
    return v1.count("freezer") > 0;
}

// Appends the pids of dir and of every cgroup below it.
Status collect(const std::string& dir, std::vector<pid_t>& out) {
    auto procs = knob::read(dir, "cgroup.procs");
    if (!procs) {
        if (procs.error().code() == ENOENT) return ok();
        return std::move(procs).error();
    }
    std::istringstream in(procs.value());
    long p;
    while (in >> p)
        out.push_back(static_cast<pid_t>(p));
    DIR* d = ::opendir(dir.c_str());
    if (!d) return ok();
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        auto st = collect(dir + "/" + e->d_name, out);
        if (!st) {
            ::closedir(d);
            return st;
        }
    }
    ::closedir(d);
    return ok();
}

// rmdir children first; a cgroup dir holds only kernel files, so rmdir (not unlink) is right.
Status remove_tree(const std::string& dir) {
    // The common case, a leaf cgroup whose tasks are gone, needs one rmdir and no listing.
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY && errno != ENOTEMPTY) return sys_error("remove cgroup " + dir);
    DIR* d = ::opendir(dir.c_str());
    if (!d) return errno == ENOENT ? ok() : sys_error("open cgroup " + dir);
    std::vector<std::string> subs;
    while (struct dirent* e = ::readdir(d))
        if (e->d_type == DT_DIR && e->d_name[0] != '.') subs.push_back(e->d_name);
    ::closedir(d);
    for (const auto& s : subs)
        TRY(remove_tree(dir + "/" + s));
    // EBUSY while the last tasks finish exiting; retry for a while.
    for (int i = 0; i < 200; ++i) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
        if (errno != EBUSY) break;
        std::this_thread::sleep_for(10ms);
    }
    return sys_error("remove cgroup " + dir);
}

}  // namespace

Status Manager::freeze() {
    if (v1_freezer(v1_)) {
        const std::string& d = v1_.at("freezer");
        // FREEZING can linger while tasks are in uninterruptible sleep: rewrite FROZEN until
        // the state settles, and give up (thawing again) rather than hang.
        for (int i = 0; i < 1000; ++i) {
            TRY_CTX(knob::write(d, "freezer.state", "FROZEN"), "freeze");
            std::string s = TRY(knob::read(d, "freezer.state"));
            if (s == "FROZEN") return ok();
            std::this_thread::sleep_for(i < 10 ? 1ms : 10ms);
        }
        (void)knob::write(d, "freezer.state", "THAWED");
        return error("freeze " + d + ": timed out waiting for FROZEN");
    }
    if (v2_.empty()) return error("freeze: no freezer on this host");
    TRY_CTX(knob::write(v2_, "cgroup.freeze", "1"), "freeze");
    for (int i = 0; i < 1000; ++i) {
        auto f = knob::read_keyed(v2_, "cgroup.events", "frozen");
        if (f && f.value() == 1) return ok();
        std::this_thread::sleep_for(i < 10 ? 1ms : 10ms);
    }
    (void)knob::write(v2_, "cgroup.freeze", "0");
    return error("freeze " + v2_ + ": timed out waiting for 'frozen 1'");
}

Status Manager::thaw() {
    if (v1_freezer(v1_)) {
        const std::string& d = v1_.at("freezer");
        for (int i = 0; i < 1000; ++i) {
            TRY_CTX(knob::write(d, "freezer.state", "THAWED"), "thaw");
            std::string s = TRY(knob::read(d, "freezer.state"));
            if (s == "THAWED") return ok();
            std::this_thread::sleep_for(1ms);
        }
        return error("thaw " + d + ": timed out waiting for THAWED");
    }
    if (v2_.empty()) return error("thaw: no freezer on this host");
    TRY_CTX(knob::write(v2_, "cgroup.freeze", "0"), "thaw");
    for (int i = 0; i < 1000; ++i) {
        auto f = knob::read_keyed(v2_, "cgroup.events", "frozen");
        if (!f || f.value() == 0) return ok();
        std::this_thread::sleep_for(1ms);
    }
    return error("thaw " + v2_ + ": timed out waiting for 'frozen 0'");
}

Result<bool> Manager::frozen() const {
    if (v1_freezer(v1_)) {
        auto s = knob::read(v1_.at("freezer"), "freezer.state");
        if (!s) return s.error().code() == ENOENT ? Result<bool>(false) : std::move(s).error();
        return s.value() == "FROZEN";
    }
    if (v2_.empty()) return false;
    auto f = knob::read(v2_, "cgroup.freeze");
    if (!f) return f.error().code() == ENOENT ? Result<bool>(false) : std::move(f).error();
    return f.value() == "1";
}

Status Manager::check_existing() {
    // The freezer state is read even where exists() says no: on v1 the freezer hierarchy
    // alone may hold the directory (runc reads it the same way).
    if (TRY_CTX(frozen(), "read the freezer state"))
        return error("container's cgroup unexpectedly frozen");
    if (!exists()) return ok();
    auto list = pids();
    if (!list) {
        int e = list.error().code();
        // The cgroup may go away while it is read.
        if (e == ENOENT || e == ENODEV) return ok();
        return std::move(list).error().with_context("unable to get cgroup PIDs");
    }
    if (!list->empty()) {
        shared_ = true;
        warnings_.push_back("container's cgroup is not empty: " + std::to_string(list->size()) +
                            " process(es) found");
    }
    return ok();
}

Result<std::vector<pid_t>> Manager::pids() const {
    std::vector<pid_t> out;
    // One hierarchy is enough: every hierarchy holds the same tasks. v2 first (it is where a
    // pure v2 host has them), then the v1 ones berth always joins.
    std::string dir = v2_;
    if (dir.empty() || !path_exists(dir)) {
        for (const char* c : {"freezer", "pids", "memory", "devices", "cpu"})
            if (auto it = v1_.find(c); it != v1_.end()) {
                dir = it->second;
                break;
            }
        if (dir.empty() && !v1_.empty()) dir = v1_.begin()->second;
    }
    if (dir.empty()) return out;
    TRY(collect(dir, out));
    return out;
}

Status Manager::kill_all(int sig) {
    if (sig == SIGKILL && !v2_.empty() && knob::exists(v2_, "cgroup.kill")) {
        // cgroup.kill kills frozen tasks too and cannot race with forks.
        TRY(knob::write(v2_, "cgroup.kill", "1"));
    } else {
        // Freeze so nothing forks between listing and signalling (runc does the same).
        bool was_frozen = value_or(frozen(), false);
        bool froze = !was_frozen && freeze().ok();
        auto list = TRY(pids());
        for (pid_t p : list)
            if (::kill(p, sig) != 0 && errno != ESRCH)
                return sys_error("signal pid " + std::to_string(p));
        // A SIGKILLed task in a frozen v1 cgroup only dies once thawed.
        if (froze || (was_frozen && sig == SIGKILL)) TRY(thaw());
        if (sig != SIGKILL) return ok();
    }
    for (int i = 0; i < 500; ++i) {
        auto list = TRY(pids());
        if (list.empty()) return ok();
        for (pid_t p : list)
            ::kill(p, SIGKILL);
        if (value_or(frozen(), false)) (void)thaw();
        std::this_thread::sleep_for(i < 20 ? 1ms : 10ms);
    }
    return error("kill: processes remain in cgroup " + (v2_.empty() ? cgpath_ : v2_));
}

Status Manager::destroy(bool kill) {
    if (shared_) {
        // Not the container's own: its other processes stay, and so does the directory
        // while they are in it (runc warns and leaves it the same way).
        for (const auto& d : v1_dirs())
            (void)::rmdir(d.c_str());
        if (!v2_.empty()) (void)::rmdir(v2_.c_str());
        return ok();
    }
    if (kill && exists()) {
        auto st = kill_all(SIGKILL);
        if (!st && st.error().code() != ENOENT) return st;
    } else if (exists() && value_or(frozen(), false)) {
        (void)thaw();
    }
    Status first = ok();
    for (const auto& d : v1_dirs()) {
        auto st = remove_tree(d);
        if (!st && first.ok()) first = st;
    }
    if (!v2_.empty()) {
        auto st = remove_tree(v2_);
        if (!st && first.ok()) first = st;
    }
    if (!first) return first;
    // Best effort from here: a parent still holding another container's cgroup stays (rmdir
    // fails with EBUSY or ENOTEMPTY), and so does a controller something below still uses.
    std::vector<std::string> parents = removable_;
    std::sort(parents.begin(), parents.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& d : parents)
        (void)::rmdir(d.c_str());
    for (auto it = enabled_.rbegin(); it != enabled_.rend(); ++it) {
        const auto& [dir, ctl] = *it;
        if (!path_exists(dir) || v2_in_use(dir, ctl)) continue;
        (void)knob::write(dir, "cgroup.subtree_control", "-" + ctl);
    }
    return first;
}

}  // namespace berth::cgroups
