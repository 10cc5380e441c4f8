// berth-conformance-checker: runs as a container's process and reports, as TAP, whether what
// it observes from inside matches the bundle's config.json (runtime-spec config.md and
// config-linux.md). Usage: checker CONFIG_JSON [HOST_NS_FILE]
#include <grp.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "conformance/observe.hpp"
#include "conformance/tap.hpp"
#include "spec/runtime_config.hpp"

extern char** environ;

namespace berth::conformance {
namespace {

std::string hex(uint64_t v) {
    char b[32];
    snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

uint64_t parse_hex(const std::string& s) {
    return s.empty() ? 0 : std::stoull(s, nullptr, 16);
}

void check_process(Tap& t, const spec::Spec& s) {
    const auto& p = *s.process;
    const char* ref = "config.md#process";
    char cwd[PATH_MAX];
    std::string got = getcwd(cwd, sizeof cwd) ? cwd : "?";
    t.check(got == p.cwd, "process.cwd", ref, got);

    std::set<std::string> env;
    for (char** e = environ; *e; ++e)
        env.insert(*e);
    for (const auto& e : p.env)
        t.check(env.count(e) > 0, "process.env " + e, ref);

    t.check(getuid() == p.user.uid && geteuid() == p.user.uid, "process.user.uid", "config.md#user",
            std::to_string(getuid()));
    t.check(getgid() == p.user.gid && getegid() == p.user.gid, "process.user.gid", "config.md#user",
            std::to_string(getgid()));
    gid_t groups[256];
    int n = getgroups(256, groups);
    std::set<uint32_t> have(groups, groups + std::max(n, 0));
    std::set<uint32_t> want(p.user.additional_gids.begin(), p.user.additional_gids.end());
    // The primary gid may or may not be in the supplementary list; runc leaves it out.
    have.erase(p.user.gid);
    want.erase(p.user.gid);
    std::string gl;
    for (auto g : have)
        gl += std::to_string(g) + " ";
    t.check(have == want, "process.user.additionalGids", "config.md#user", gl);

    auto st = proc_status();
    if (p.user.umask) {
        char b[16];
        snprintf(b, sizeof b, "%04o", *p.user.umask);
        t.check(st["Umask"] == b, "process.user.umask", "config.md#user", st["Umask"]);
    }
    if (p.capabilities) {
        const auto& c = *p.capabilities;
        struct Set {
            const char* field;
            const char* status_key;
            const std::optional<std::vector<std::string>>* names;
        } sets[] = {{"bounding", "CapBnd", &c.bounding},
                    {"effective", "CapEff", &c.effective},
                    {"inheritable", "CapInh", &c.inheritable},
                    {"permitted", "CapPrm", &c.permitted},
                    {"ambient", "CapAmb", &c.ambient}};
        auto mask = [](const std::optional<std::vector<std::string>>& n) {
            return n ? cap_mask(*n) : uint64_t(0);
        };
        // What the kernel can give after execve (capabilities(7)): ambient holds only caps
        // that are also permitted and inheritable, and a non-root process keeps in
        // permitted/effective only its ambient set (the checker binary has no file caps).
        uint64_t amb = mask(c.ambient) & mask(c.permitted) & mask(c.inheritable);
        uint64_t want[5] = {mask(c.bounding), mask(c.effective), mask(c.inheritable),
                            mask(c.permitted), amb};
        if (p.user.uid != 0) want[1] = want[3] = amb;
        int idx = 0;
        for (const auto& set : sets) {
            uint64_t want_mask = want[idx++];
            uint64_t got_mask = parse_hex(st[set.status_key]);
            t.check(got_mask == want_mask, std::string("process.capabilities.") + set.field,
                    "config.md#linux-process", hex(got_mask) + " want " + hex(want_mask));
        }
    }
    static const std::map<std::string, int> kRlimits = {
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
    for (const auto& r : p.rlimits) {
        auto it = kRlimits.find(r.type);
        if (it == kRlimits.end()) continue;
        struct rlimit rl;
        getrlimit(it->second, &rl);
        t.check(rl.rlim_cur == r.soft && rl.rlim_max == r.hard, "process.rlimits " + r.type,
                "config.md#posix-process",
                std::to_string(rl.rlim_cur) + "/" + std::to_string(rl.rlim_max));
    }
    t.check((st["NoNewPrivs"] == "1") == p.no_new_privileges, "process.noNewPrivileges",
            "config.md#linux-process", st["NoNewPrivs"]);
    if (p.oom_score_adj) {
        std::string v = read_text("/proc/self/oom_score_adj");
        v.erase(v.find_last_not_of("\n") + 1);
        t.check(v == std::to_string(*p.oom_score_adj), "process.oomScoreAdj",
                "config.md#linux-process", v);
    }
    if (p.scheduler) {
        static const std::map<std::string, int> kPol = {{"SCHED_OTHER", SCHED_OTHER},
                                                        {"SCHED_FIFO", SCHED_FIFO},
                                                        {"SCHED_RR", SCHED_RR},
                                                        {"SCHED_BATCH", SCHED_BATCH},
                                                        {"SCHED_IDLE", SCHED_IDLE}};
        int pol = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
        auto it = kPol.find(p.scheduler->policy);
        if (it == kPol.end())
            t.skip("process.scheduler.policy", "config.md#scheduler", p.scheduler->policy);
        else
            t.check(pol == it->second, "process.scheduler.policy", "config.md#scheduler",
                    std::to_string(pol));
        if (p.scheduler->nice)
            t.check(getpriority(PRIO_PROCESS, 0) == *p.scheduler->nice, "process.scheduler.nice",
                    "config.md#scheduler", std::to_string(getpriority(PRIO_PROCESS, 0)));
    }
    if (p.io_priority) {
        long v = syscall(SYS_ioprio_get, 1 /*IOPRIO_WHO_PROCESS*/, 0);
        int klass = int(v >> 13), prio = int(v & 0xff);
        int want = p.io_priority->klass == "IOPRIO_CLASS_RT"   ? 1
                   : p.io_priority->klass == "IOPRIO_CLASS_BE" ? 2
                                                               : 3;
        t.check(klass == want && prio == p.io_priority->priority, "process.ioPriority",
                "config.md#linux-process", std::to_string(klass) + ":" + std::to_string(prio));
    }
    if (p.exec_cpu_affinity && !p.exec_cpu_affinity->final.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        std::string got_list;
        for (int i = 0; i < CPU_SETSIZE; ++i)
            if (CPU_ISSET(i, &set)) got_list += (got_list.empty() ? "" : ",") + std::to_string(i);
        t.observe("cpu_affinity", got_list);
    }
}

void check_namespaces(Tap& t, const spec::Spec& s, const std::map<std::string, std::string>& host) {
    static const std::map<std::string, std::string> kProcName = {
        {"pid", "pid"}, {"network", "net"}, {"mount", "mnt"},     {"ipc", "ipc"},
        {"uts", "uts"}, {"user", "user"},   {"cgroup", "cgroup"}, {"time", "time"}};
    std::set<std::string> asked;
    for (const auto& ns : s.linux_->namespaces) {
        asked.insert(ns.type);
        auto pn = kProcName.at(ns.type);
        std::string mine = ns_inode(pn);
        t.observe("ns." + ns.type, mine);
        auto h = host.find(pn);
        if (h == host.end()) continue;
        if (ns.path.empty())
            t.check(mine != h->second, "linux.namespaces " + ns.type + " (new)",
                    "config-linux.md#namespaces", mine);
    }
    for (const auto& [type, pn] : kProcName) {
        if (asked.count(type)) continue;
        auto h = host.find(pn);
        if (h == host.end() || ns_inode(pn).empty()) continue;
        // A namespace type absent from the config means the container shares the runtime's.
        t.check(ns_inode(pn) == h->second, "linux.namespaces " + type + " (shared)",
                "config-linux.md#namespaces", ns_inode(pn));
    }
    if (asked.count("pid"))
        t.check(getpid() == 1 || getppid() == 0, "pid namespace: process is pid 1",
                "config-linux.md#namespaces", std::to_string(getpid()));
    if (asked.count("user") && !s.linux_->uid_mappings.empty()) {
        auto norm = [](const std::string& text) {
            std::istringstream in(text);
            std::string out, a, b, c;
            while (in >> a >> b >> c)
                out += a + " " + b + " " + c + ";";
            return out;
        };
        std::string want;
        for (const auto& m : s.linux_->uid_mappings)
            want += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                    std::to_string(m.size) + ";";
        std::string got = norm(read_text("/proc/self/uid_map"));
        t.check(got == want, "linux.uidMappings", "config-linux.md#user-namespace-mappings", got);
        want.clear();
        for (const auto& m : s.linux_->gid_mappings)
            want += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                    std::to_string(m.size) + ";";
        got = norm(read_text("/proc/self/gid_map"));
        t.check(got == want, "linux.gidMappings", "config-linux.md#user-namespace-mappings", got);
    }
}

void check_mounts(Tap& t, const spec::Spec& s) {
    auto mi = mountinfo();
    auto root = mount_at(mi, "/");
    if (s.root)
        t.check(root && has_option(*root, "ro") == s.root->readonly, "root.readonly",
                "config.md#root", root ? (has_option(*root, "ro") ? "ro" : "rw") : "no / mount");
    for (size_t i = 0; i < s.mounts.size(); ++i) {
        const auto& m = s.mounts[i];
        std::string f = "mounts[" + std::to_string(i) + "] " + m.destination;
        auto e = mount_at(mi, m.destination);
        if (!e) {
            t.check(false, f, "config.md#mounts", "not mounted");
            continue;
        }
        bool bind = std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
                    std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end() ||
                    m.type == "bind";
        if (!bind && !m.type.empty() && m.type != "none")
            t.check(e->fstype == m.type || (m.type == "cgroup" && e->fstype == "cgroup2") ||
                        (m.type == "cgroup" && e->fstype == "tmpfs"),
                    f + " type", "config.md#mounts", e->fstype);
        for (const char* opt : {"ro", "nosuid", "nodev", "noexec"}) {
            if (std::find(m.options.begin(), m.options.end(), opt) != m.options.end())
                t.check(has_option(*e, opt), f + " " + opt, "config.md#mounts",
                        "options missing " + std::string(opt));
        }
    }
    for (const auto& p : s.linux_->masked_paths) {
        struct stat st;
        if (lstat(p.c_str(), &st) != 0) continue;  // absent paths are not masked
        if (S_ISDIR(st.st_mode)) {
            auto e = mount_at(mi, p);
            t.check(e && e->fstype == "tmpfs" && has_option(*e, "ro"), "maskedPaths " + p,
                    "config-linux.md#masked-paths", e ? e->fstype : "not mounted");
        } else {
            std::string content = read_text(p);
            t.check(content.empty(), "maskedPaths " + p, "config-linux.md#masked-paths",
                    std::to_string(content.size()) + " bytes readable");
        }
    }
    for (const auto& p : s.linux_->readonly_paths) {
        struct stat st;
        if (lstat(p.c_str(), &st) != 0) continue;
        auto e = mount_at(mi, p);
        t.check(e && has_option(*e, "ro"), "readonlyPaths " + p, "config-linux.md#readonly-paths",
                e ? "rw" : "not mounted");
    }
}

void check_devices(Tap& t, const spec::Spec& s) {
    struct Dev {
        const char* path;
        unsigned maj, min;
    } defaults[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
    for (const auto& d : defaults) {
        struct stat st;
        bool ok = stat(d.path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == d.maj &&
                  minor(st.st_rdev) == d.min;
        t.check(ok, std::string("default device ") + d.path, "config-linux.md#default-devices");
    }
    for (const char* l : {"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/ptmx"}) {
        struct stat st;
        t.check(lstat(l, &st) == 0 && S_ISLNK(st.st_mode), std::string("default link ") + l,
                "runtime-linux.md#dev-symbolic-links");
    }
    for (const auto& d : s.linux_->devices) {
        struct stat st;
        bool ok = stat(d.path.c_str(), &st) == 0;
        if (ok && (d.type == "c" || d.type == "u")) ok = S_ISCHR(st.st_mode);
        if (ok && d.type == "b") ok = S_ISBLK(st.st_mode);
        if (ok && d.type == "p") ok = S_ISFIFO(st.st_mode);
        if (ok && d.type != "p")
            ok = int64_t(major(st.st_rdev)) == d.major && int64_t(minor(st.st_rdev)) == d.minor;
        if (ok && d.file_mode) ok = (st.st_mode & 07777) == (*d.file_mode & 07777);
        t.check(ok, "linux.devices " + d.path, "config-linux.md#devices");
    }
}

void check_linux_misc(Tap& t, const spec::Spec& s) {
    const auto& l = *s.linux_;
    for (const auto& [key, value] : l.sysctl) {
        std::string p = "/proc/sys/" + key;
        std::replace(p.begin() + 10, p.end(), '.', '/');
        // The kernel writes some values back with tabs ("0\t0"); compare word by word.
        auto words = [](const std::string& v) {
            std::istringstream in(v);
            std::string w, out;
            while (in >> w)
                out += w + " ";
            return out;
        };
        std::string got = read_text(p);
        t.check(words(got) == words(value), "linux.sysctl " + key, "config-linux.md#sysctl", got);
    }
    auto st = proc_status();
    t.check((st["Seccomp"] == "2") == l.seccomp.has_value(), "linux.seccomp (filter mode)",
            "config-linux.md#seccomp", st["Seccomp"]);
    if (l.personality) {
        int pers = personality(0xffffffff);
        bool is32 = (pers & PER_MASK) == PER_LINUX32;
        t.check(is32 == (l.personality->domain == "LINUX32"), "linux.personality.domain",
                "config-linux.md#personality", std::to_string(pers));
    }
    if (!s.hostname.empty()) {
        char h[256] = {};
        gethostname(h, sizeof h - 1);
        t.check(s.hostname == h, "hostname", "config.md#hostname", h);
    }
    if (!s.domainname.empty()) {
        char d[256] = {};
        getdomainname(d, sizeof d - 1);
        t.check(s.domainname == d, "domainname", "config.md#domainname", d);
    }
    t.observe("cgroup", read_text("/proc/self/cgroup").substr(0, 400));
}

}  // namespace
}  // namespace berth::conformance

int main(int argc, char** argv) {
    using namespace berth;
    using namespace berth::conformance;
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG_JSON [HOST_NS_FILE]\n", argv[0]);
        return 2;
    }
    auto spec = spec::load_config(argv[1]);
    if (!spec) {
        fprintf(stderr, "checker: %s\n", spec.error().str().c_str());
        return 2;
    }
    std::map<std::string, std::string> host;
    if (argc > 2) {
        std::istringstream in(read_text(argv[2]));
        std::string name, inode;
        while (in >> name >> inode)
            host[name] = inode;
    }
    Tap t;
    if (spec->process) check_process(t, *spec);
    if (spec->linux_) {
        check_namespaces(t, *spec, host);
        check_mounts(t, *spec);
        check_devices(t, *spec);
        check_linux_misc(t, *spec);
    }
    t.finish();
    return t.failed() ? 1 : 0;
}
