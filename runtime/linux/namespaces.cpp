// Namespace planning (parent) and joining/creating (stage1).
#include "runtime/linux/namespaces.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "base/file.hpp"
#include "runtime/linux/mounts_idmap.hpp"

namespace berth::runtime::linux_ {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// setns order: user first (joining it grants the capabilities needed to join the rest when
// they belong to it); mount late, since joining it changes root and cwd.
const char* const kNamespaceTypes[8] = {"user", "ipc",    "uts",  "network",
                                        "pid",  "cgroup", "time", "mount"};

int namespace_flag(const std::string& type) {
    if (type == "pid") return CLONE_NEWPID;
    if (type == "network") return CLONE_NEWNET;
    if (type == "mount") return CLONE_NEWNS;
    if (type == "ipc") return CLONE_NEWIPC;
    if (type == "uts") return CLONE_NEWUTS;
    if (type == "user") return CLONE_NEWUSER;
    if (type == "cgroup") return CLONE_NEWCGROUP;
    if (type == "time") return CLONE_NEWTIME;
    return 0;
}

const char* namespace_proc_name(const std::string& type) {
    if (type == "network") return "net";
    if (type == "mount") return "mnt";
    if (type == "pid") return "pid";
    if (type == "ipc") return "ipc";
    if (type == "uts") return "uts";
    if (type == "user") return "user";
    if (type == "cgroup") return "cgroup";
    if (type == "time") return "time";
    return "";
}

bool NamespacePlan::has(int flag) const {
    if (unshare_flags & flag) return true;
    return std::any_of(joins.begin(), joins.end(),
                       [&](const NamespaceJoin& j) { return j.flag == flag; });
}

bool NamespacePlan::joins_user() const {
    return std::any_of(joins.begin(), joins.end(),
                       [](const NamespaceJoin& j) { return j.flag == CLONE_NEWUSER; });
}

std::string describe(const NamespacePlan& plan) {
    std::string made, joined;
    for (const char* type : kNamespaceTypes)
        if (plan.is_new(namespace_flag(type)))
            made += (made.empty() ? "" : ",") + std::string(type);
    for (const auto& j : plan.joins)
        joined += (joined.empty() ? "" : ", ") + j.type + " " + j.path;
    std::string s;
    if (!made.empty()) s = "new " + made;
    if (!joined.empty()) s += (s.empty() ? "join " : "; join ") + joined;
    return s.empty() ? "none" : s;
}

Result<NamespacePlan> plan_namespaces(const spec::Spec& spec) {
    NamespacePlan plan;
    if (!spec.linux_) return plan;
    const auto& nss = spec.linux_->namespaces;
    for (size_t i = 0; i < nss.size(); ++i) {
        const auto& ns = nss[i];
        std::string field = "linux.namespaces[" + std::to_string(i) + "]";
        int flag = namespace_flag(ns.type);
        if (!flag)
            return error("config.json: " + field + ".type: unknown namespace '" + ns.type + "'");
        if (plan.has(flag))
            return error("config.json: " + field + ".type: namespace '" + ns.type +
                         "' given twice");
        if (ns.path.empty()) {
            plan.unshare_flags |= flag;
            continue;
        }
        UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return sys_error("config.json: " + field + ".path: open '" + ns.path + "'");
        // The file must be a namespace of the declared type (setns with the type checks it).
        NamespaceJoin j;
        j.type = ns.type;
        j.flag = flag;
        j.path = ns.path;
        j.fd = std::move(fd);
        plan.joins.push_back(std::move(j));
    }
    std::stable_sort(plan.joins.begin(), plan.joins.end(),
                     [](const NamespaceJoin& a, const NamespaceJoin& b) {
                         auto rank = [](const std::string& t) {
                             for (int i = 0; i < 8; ++i)
                                 if (t == kNamespaceTypes[i]) return i;
                             return 8;
                         };
                         return rank(a.type) < rank(b.type);
                     });
    if (spec.linux_ && !spec.linux_->time_offsets.empty() && !plan.is_new(CLONE_NEWTIME))
        return error("config.json: linux.timeOffsets: needs a new time namespace");
    if (spec.linux_ && (!spec.linux_->uid_mappings.empty() || !spec.linux_->gid_mappings.empty()) &&
        !plan.is_new(CLONE_NEWUSER))
        return error("config.json: linux.uidMappings: needs a new user namespace");
    if (plan.is_new(CLONE_NEWUSER) &&
        (spec.linux_->uid_mappings.empty() || spec.linux_->gid_mappings.empty()))
        return error(
            "config.json: linux.uidMappings: a new user namespace needs uid and gid mappings");
    return plan;
}

Result<NamespacePlan> plan_join_process(pid_t pid) {
    NamespacePlan plan;
    std::string base = "/proc/" + std::to_string(pid) + "/ns/";
    for (const char* type : kNamespaceTypes) {
        std::string name = namespace_proc_name(type);
        struct stat own, theirs;
        // A kernel without this namespace type (no /proc/self/ns/time before 5.6).
        if (::stat(("/proc/self/ns/" + name).c_str(), &own) < 0) continue;
        UniqueFd fd(::open((base + name).c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return sys_error("open the container's " + std::string(type) + " namespace");
        if (::fstat(fd.get(), &theirs) < 0) return sys_error("stat " + base + name);
        if (theirs.st_dev == own.st_dev && theirs.st_ino == own.st_ino) continue;
        NamespaceJoin j;
        j.type = type;
        j.flag = namespace_flag(type);
        j.path = base + name;
        j.fd = std::move(fd);
        plan.joins.push_back(std::move(j));
    }
    return plan;
}

bool root_mapped(pid_t pid) {
    auto maps_zero = [&](const char* file) {
        auto text = read_file("/proc/" + std::to_string(pid) + "/" + file, 1 << 16);
        if (!text) return false;
        std::istringstream in(*text);
        unsigned long inside, outside, count;
        while (in >> inside >> outside >> count)
            if (inside == 0 && count > 0) return true;
        return false;
    };
    return maps_zero("uid_map") && maps_zero("gid_map");
}

Status apply_namespaces(const NamespacePlan& plan) {
    return apply_namespaces(plan, plan.unshare_flags);
}

Status apply_namespaces(const NamespacePlan& plan, int unshare_flags) {
    for (const auto& j : plan.joins)
        if (::setns(j.fd.get(), j.flag) < 0)
            return sys_error("join " + j.type + " namespace '" + j.path + "'");
    if (unshare_flags && ::unshare(unshare_flags) < 0) return sys_error("unshare namespaces");
    return ok();
}

namespace {

// Runs newuidmap/newgidmap (setuid helpers from shadow's uidmap) for the ranges /etc/subuid
// and /etc/subgid grant; their complaint, when they refuse, becomes the error text.
Status run_map_helper(const char* helper, pid_t pid, const std::vector<spec::IDMapping>& m) {
    std::vector<std::string> args = {helper, std::to_string(pid)};
    for (const auto& e : m) {
        args.push_back(std::to_string(e.container_id));
        args.push_back(std::to_string(e.host_id));
        args.push_back(std::to_string(e.size));
    }
    int err[2];
    if (::pipe2(err, O_CLOEXEC) < 0) return sys_error("pipe");
    pid_t child = ::fork();
    if (child < 0) {
        ::close(err[0]);
        ::close(err[1]);
        return sys_error("fork " + std::string(helper));
    }
    if (child == 0) {
        ::dup2(err[1], 2);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(helper, argv.data());
        ::dprintf(2, "exec: %s", std::strerror(errno));
        ::_exit(127);
    }
    ::close(err[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = ::read(err[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buf, size_t(n));
    ::close(err[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    if (auto nl = out.rfind('\n'); nl != std::string::npos) out = out.substr(nl + 1);
    return Error(EPERM, std::string(helper) + " failed" + (out.empty() ? "" : ": " + out));
}

bool single_own_id(const std::vector<spec::IDMapping>& m, uint32_t own) {
    return m.size() == 1 && m[0].size == 1 && m[0].host_id == own;
}

}  // namespace

Status write_id_maps(pid_t pid, const spec::Spec& spec, bool rootless) {
    std::string base = "/proc/" + std::to_string(pid);
    const auto& uids = spec.linux_->uid_mappings;
    const auto& gids = spec.linux_->gid_mappings;
    if (!rootless) {
        TRY_CTX(write_file(base + "/uid_map", map_text(uids)), "write uid mappings");
        TRY_CTX(write_file(base + "/gid_map", map_text(gids)), "write gid mappings");
        return ok();
    }
    // Rootless, as runc: a mapping of our own id alone is written directly (for gids the
    // kernel then wants setgroups denied first); anything wider goes through the setuid
    // helpers, which check it against /etc/subuid and /etc/subgid. Root inside a user
    // namespace (rootless podman) can write ranges it holds itself, so that is tried first.
    if (single_own_id(uids, ::geteuid()) || ::geteuid() == 0) {
        auto st = write_file(base + "/uid_map", map_text(uids));
        if (!st && single_own_id(uids, ::geteuid()))
            return std::move(st).error().with_context("write uid mappings");
        if (!st) TRY_CTX(run_map_helper("newuidmap", pid, uids), "write uid mappings");
    } else {
        TRY_CTX(run_map_helper("newuidmap", pid, uids), "write uid mappings");
    }
    if (single_own_id(gids, ::getegid()) && ::geteuid() != 0) {
        TRY_CTX(write_file(base + "/setgroups", "deny"), "deny setgroups");
        TRY_CTX(write_file(base + "/gid_map", map_text(gids)), "write gid mappings");
    } else if (::geteuid() == 0 && write_file(base + "/gid_map", map_text(gids))) {
        // written directly
    } else {
        TRY_CTX(run_map_helper("newgidmap", pid, gids), "write gid mappings");
    }
    return ok();
}

Status write_time_offsets(pid_t pid, const spec::Spec& spec) {
    if (!spec.linux_ || spec.linux_->time_offsets.empty()) return ok();
    // One write with every clock: the kernel accepts offsets only before the first process
    // enters the namespace, which is why stage1 waits for this before cloning init.
    std::string s;
    for (const auto& [clock, off] : spec.linux_->time_offsets) {
        if (clock != "monotonic" && clock != "boottime")
            return error("config.json: linux.timeOffsets: unknown clock '" + clock + "'");
        s += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    }
    return write_file("/proc/" + std::to_string(pid) + "/timens_offsets", s)
        .context("write time namespace offsets");
}

}  // namespace berth::runtime::linux_
