// cgroups: a container-agnostic library for cgroup v1, v2 and hybrid hosts (layout, paths,
// resources, freezer, pids, kill, stats, OOM notification).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "spec/runtime_config.hpp"

namespace berth::cgroups {

// How the host mounts cgroups. hybrid = v1 controllers plus a cgroup2 mount (usually
// /sys/fs/cgroup/unified) whose few controllers (often none, here hugetlb) live only there.
enum class Mode { v1, v2, hybrid };
const char* mode_name(Mode m);  // "v1", "v2", "hybrid"

struct V1Mount {
    std::string mountpoint;                // /sys/fs/cgroup/cpu,cpuacct
    std::string root;                      // mount root inside the hierarchy (mountinfo field 4)
    std::vector<std::string> controllers;  // {"cpu","cpuacct"}; named ones as "name=systemd"
};

struct Layout {
    Mode mode = Mode::v2;
    std::string unified;  // cgroup2 mount point ("" when none)
    std::string unified_root;
    std::set<std::string> v2_controllers;  // cgroup.controllers of the cgroup2 root
    std::vector<V1Mount> v1;
    // Controller name ("memory", "name=systemd") -> index into v1.
    std::map<std::string, size_t> v1_by_controller;

    bool has_v1(const std::string& controller) const { return v1_by_controller.count(controller); }
    // True when `controller` must be driven through cgroup2 (pure v2, or hybrid and the
    // controller is not mounted as v1 but is available in cgroup2).
    bool on_v2(const std::string& controller) const;
};

// Reads /proc/self/mountinfo (cgroup and cgroup2 entries only; statfs confirms the magic).
Result<Layout> detect();
// The parsing half of detect(), for tests: mountinfo text and the cgroup2 root's
// cgroup.controllers content.
Result<Layout> parse_layout(const std::string& mountinfo, const std::string& v2_controllers);

// "slice:prefix:name" -> cgroupfs path ("/a.slice/a-b.slice/prefix-name.scope"), systemd's
// slice expansion as runc does it. Errors name the bad part.
Result<std::string> systemd_path(const std::string& cgroups_path, const std::string& id);
// True when a systemd manager is reachable (/run/systemd/system and its private socket).
bool systemd_running();

// Conversions (runc and crun 1.8 formulas; see docs/cgroups.md).
uint64_t shares_to_weight(uint64_t shares);           // 1 + (shares-2)*9999/262142
uint64_t weight_to_shares(uint64_t weight);           // 2 + (weight-1)*262142/9999
uint64_t blkio_weight_to_io_weight(uint64_t weight);  // 1 + (w-10)*9999/990
// v1 memsw (memory+swap) -> v2 memory.swap.max (swap alone); -1 = max; 0 = leave alone.
Result<int64_t> swap_to_v2(int64_t swap, int64_t limit);

// `update` on top of the resources a cgroup has: each field the update sets replaces the old
// value (memory limit -1 without swap also makes swap -1, as runc does); device rules stay.
spec::Resources merge_resources(const spec::Resources& base, const spec::Resources& update);

// Per-controller writers: each takes the directory of the cgroup in the hierarchy that
// holds that controller and the resources; only fields that are set are written.
// `warnings` collects things ignored on purpose (kernel memory on new kernels, ...).
using Warnings = std::vector<std::string>;
namespace v1 {
Status memory(const std::string& dir, const spec::Memory& m, Warnings& w);
Status cpu(const std::string& dir, const spec::Cpu& c, Warnings& w);
Status cpuset(const std::string& dir, const spec::Cpu& c);
Status pids(const std::string& dir, const spec::Pids& p);
Status blkio(const std::string& dir, const spec::BlockIO& b);
Status hugetlb(const std::string& dir, const std::vector<spec::HugepageLimit>& h);
Status net_cls(const std::string& dir, const spec::Network& n);
Status net_prio(const std::string& dir, const spec::Network& n);
Status rdma(const std::string& dir, const std::map<std::string, spec::Rdma>& r);
Status devices(const std::string& dir, const std::vector<spec::DeviceCgroup>& rules);
}  // namespace v1
namespace v2 {
Status memory(const std::string& dir, const spec::Memory& m, Warnings& w);
Status cpu(const std::string& dir, const spec::Cpu& c, Warnings& w);
Status cpuset(const std::string& dir, const spec::Cpu& c);
Status pids(const std::string& dir, const spec::Pids& p);
Status io(const std::string& dir, const spec::BlockIO& b);
Status hugetlb(const std::string& dir, const std::vector<spec::HugepageLimit>& h);
Status rdma(const std::string& dir, const std::map<std::string, spec::Rdma>& r);
// Writes each key as a file in dir; keys must be plain file names of a known controller.
Status unified(const std::string& dir, const std::map<std::string, std::string>& kv,
               const std::set<std::string>& allowed_controllers);
// Builds and attaches (BPF_F_ALLOW_MULTI) a BPF_PROG_TYPE_CGROUP_DEVICE program.
Status devices(const std::string& dir, const std::vector<spec::DeviceCgroup>& rules);
}  // namespace v2
// "invalid configuration" when linux.resources.unified sets a controller that a structured
// field (memory, cpu, pids, blockIO, hugepageLimits, rdma) sets too: which one would win is
// not something a spec should leave to the runtime.
Status check_unified_conflicts(const spec::Resources& r);

// The eBPF device filter program (struct bpf_insn as raw 8-byte records), last-match-wins
// as the v1 lists behave. Exposed for tests.
struct BpfInsn {
    uint8_t code;
    uint8_t regs;  // dst:4 (low), src:4 (high)
    int16_t off;
    int32_t imm;
};
std::vector<BpfInsn> device_filter_program(const std::vector<spec::DeviceCgroup>& rules);
// resources.devices, then runc's default device allow list (mknod of any, null, zero, full,
// tty, urandom, random, ptmx, pts, tun). linux.devices add no rule (runc neither).
std::vector<spec::DeviceCgroup> container_device_rules(const spec::Linux& linux_);

class Manager {
  public:
    // Resolves where the cgroup lives in every hierarchy. No filesystem change yet.
    // cgroups_path: absolute (from each hierarchy's root), relative (under this process's
    // own cgroup, as runc), or empty (/berth/<id>). systemd: "slice:prefix:name", errors
    // when systemd is not reachable.
    static Result<Manager> create(const std::string& cgroups_path, const std::string& id,
                                  bool systemd);
    static Result<Manager> create(const Layout& layout, const std::string& cgroups_path,
                                  const std::string& id, bool systemd,
                                  const std::map<std::string, std::string>& own_cgroup);

    // Creates the directories (v1: cpuset inherits cpus/mems; pure v2: enables the
    // controllers in the ancestors' cgroup.subtree_control). Idempotent. Remembers which
    // directories it made so destroy() can remove them again.
    Status make();
    // Writes resources (create and update). Device rules are written only when non-empty.
    Status apply(const spec::Resources& r);
    const Warnings& warnings() const { return warnings_; }
    Status add_pid(pid_t pid);

    Status freeze();
    Status thaw();
    Result<bool> frozen() const;
    // Before make(), for a cgroup that may already exist (cgroupsPath names one): an error
    // when it is frozen (runc: "container's cgroup unexpectedly frozen"; joining it would
    // hang every step after the move), and a warning when it already holds processes. Such
    // a cgroup is marked shared: destroy() then kills nothing and leaves it when busy.
    Status check_existing();
    bool shared() const { return shared_; }
    // Rootless: only the cgroup2 directory (a delegated subtree) is used, never a v1
    // hierarchy, even on a hybrid host; a controller absent there is reported as such.
    // Before make().
    void use_delegated_v2_only();
    bool delegated() const { return delegated_; }
    Result<std::vector<pid_t>> pids() const;
    // cgroup.kill on v2 where present; otherwise signal every pid, and for SIGKILL loop
    // until the cgroup is empty (thawing first so the signal can be delivered).
    Status kill_all(int sig);
    // Removes the directory in every hierarchy; with kill, SIGKILLs leftovers first. Then,
    // best effort, the parent directories make() created (and the default /berth parent)
    // once empty, and undoes the subtree_control changes apply() made on a hybrid host
    // when nothing below still uses that controller.
    Status destroy(bool kill = true);
    bool exists() const;
    // runc's events "data" object (types/events.go Stats): cpu, cpuset, memory, pids, blkio,
    // hugetlb, intel_rdt, network_interfaces, each in runc's field order.
    Result<nlohmann::ordered_json> stats() const;
    // Number of OOM kills so far (memory.events oom_kill on v2, memory.oom_control on v1).
    Result<uint64_t> oom_kills() const;
    // An fd that becomes readable when the memory controller reports an OOM event:
    // v1 eventfd through cgroup.event_control, v2 inotify on memory.events.
    Result<UniqueFd> oom_notify_fd() const;

    Mode mode() const { return mode_; }
    // Directory in the hierarchy holding `controller` ("" = the cgroup2 dir), or "".
    std::string path(const std::string& controller) const;
    const std::string& v2_path() const { return v2_; }
    const std::map<std::string, std::string>& v1_paths() const { return v1_; }
    const std::string& cgroup_path() const { return cgpath_; }

    nlohmann::json to_state() const;
    static Result<Manager> from_state(const nlohmann::json& j);
    // The same as a flat map, controller -> directory ("" = the cgroup2 directory), which is
    // what the container's state.json keeps as cgroup_paths; from_paths re-detects the mode.
    std::map<std::string, std::string> paths() const;
    static Result<Manager> from_paths(const std::map<std::string, std::string>& paths);

  private:
    Mode mode_ = Mode::v2;
    std::string cgpath_;                     // the path inside the hierarchies
    std::map<std::string, std::string> v1_;  // controller -> absolute dir
    std::string v2_;                         // absolute dir in cgroup2 ("" on pure v1)
    std::set<std::string> v2_controllers_;   // controllers driven through v2_
    // Controllers that could be driven through v2_ (pure v2: all; hybrid: those absent from
    // v1). On hybrid one is enabled only when a resource needs it (enable_v2), as runc
    // leaves the unified hierarchy to membership only.
    std::set<std::string> v2_available_;
    // Directories berth may rmdir once empty: parents make() created. Never a directory
    // someone else made, nor berth's own /berth parent of a defaulted path (kept_), which
    // stays for the next container.
    std::vector<std::string> removable_;
    std::vector<std::string> kept_;
    // The cgroup held other processes before the container joined (check_existing).
    bool shared_ = false;
    bool delegated_ = false;
    // (directory, controller) pairs whose cgroup.subtree_control berth changed on hybrid.
    std::vector<std::pair<std::string, std::string>> enabled_;
    Status enable_v2(const std::string& controller);
    std::string unified_mount_;                // cgroup2 mount point, for enable_v2's walk
    std::vector<std::string> v1_dirs() const;  // distinct dirs (shared mounts once)
    Warnings warnings_;
};

}  // namespace berth::cgroups
