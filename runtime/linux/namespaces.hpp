// Namespaces: which to create and which to join (by path), planned in the parent, applied in
// stage1 (setns in an order that works with a user namespace, then one unshare).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

struct NamespaceJoin {
    std::string type;  // spec name: "network"
    int flag = 0;      // CLONE_NEWNET
    std::string path;
    UniqueFd fd;  // opened in the parent, so a bad path fails before any process exists
};

struct NamespacePlan {
    int unshare_flags = 0;             // namespaces to create
    std::vector<NamespaceJoin> joins;  // in setns order: user first
    bool has(int flag) const;          // new or joined
    bool is_new(int flag) const { return (unshare_flags & flag) != 0; }
    bool joins_user() const;
};

// CLONE_NEW* for a spec type name, 0 if unknown.
int namespace_flag(const std::string& type);
// /proc/<pid>/ns/<name> name for a spec type ("network" -> "net").
const char* namespace_proc_name(const std::string& type);
extern const char* const kNamespaceTypes[8];

Result<NamespacePlan> plan_namespaces(const spec::Spec& spec);

// For --debug: "new pid,mount,uts; join network /var/run/netns/x" ("none" when neither).
std::string describe(const NamespacePlan& plan);

// berth exec: every namespace of the running process `pid` (the container's init) that is not
// the caller's own, opened from /proc/<pid>/ns/* (user first, mount last; joining one's own
// user namespace is an error, and the others would change nothing). The caller checks
// afterwards that pid is still the init, so the fds cannot belong to a reused pid.
Result<NamespacePlan> plan_join_process(pid_t pid);
// True when uid 0 and gid 0 are mapped in the user namespace of pid.
bool root_mapped(pid_t pid);

// Stage1: setns into every joined namespace (user first, so that the others are joined with
// the capabilities the user namespace gives), then unshare the new ones in one call (the
// kernel makes the user namespace first and the others owned by it).
Status apply_namespaces(const NamespacePlan& plan);
// The same with only `unshare_flags` of the new ones made here (the direct path: the init was
// cloned with the others, runtime/process.cpp).
Status apply_namespaces(const NamespacePlan& plan, int unshare_flags);

// Parent, for the stage1 pid, after its unshare: uid_map/gid_map and timens_offsets. A
// privileged parent writes them directly (no newuidmap, no dumpable child). Rootless, a map
// of the caller's own id alone is written directly (setgroups denied first for gids), wider
// ones through newuidmap/newgidmap; stage1 is dumpable meanwhile.
Status write_id_maps(pid_t pid, const spec::Spec& spec, bool rootless = false);
Status write_time_offsets(pid_t pid, const spec::Spec& spec);

}  // namespace berth::runtime::linux_
