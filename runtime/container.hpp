// A container's saved state: <root>/<id>/state.json (atomic), a per-container lock, and the
// status worked out from /proc (created, running, stopped) rather than trusted from disk.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth::runtime {

// The layout of state.json, saved in it as "state_format". An upgraded berth must manage the
// containers the previous one started: it reads every older format (0 is berth 0.1.0's, which
// had no field) and refuses a newer one with a message saying which berth to use. Bump it only
// when an older berth would misread the file (a field's meaning changes), never for an added
// optional field: older berths ignore unknown fields.
constexpr int kStateFormat = 1;

enum class RunStatus { creating, created, running, paused, stopped };
const char* status_name(RunStatus s);

// What state.json holds. The status is not stored: it is derived each time.
struct ContainerState {
    std::string id;
    pid_t pid = 0;
    // Field 22 of /proc/<pid>/stat when the init was made: a pid reused by another process
    // after the init exited has a different start time, so it is never signalled.
    uint64_t pid_start_time = 0;
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339, nanoseconds
    std::string owner;
    std::map<std::string, std::string> annotations;
    bool new_pid_ns = false;
    // cgroups::Manager::to_state(): where the container's cgroup is in every hierarchy.
    nlohmann::json cgroup;
    std::string cgroups_path;  // linux.cgroupsPath as configured
    // linux.resources as applied: the config's at create, merged with each `update` (runc
    // keeps the same in its state.json); device rules left out. Null when none.
    nlohmann::json resources;
    bool systemd_cgroup = false;
};

// runc's state JSON (`berth state`, hooks' stdin): ociVersion, id, pid, status, bundle,
// rootfs, created, owner, annotations.
std::string state_json(const ContainerState& st, RunStatus status, bool pretty);

// The state directory of one container, locked for the lifetime of the object.
class ContainerDir {
  public:
    // Creates <root>/<id> exclusively (mkdir: of two concurrent creates, one wins) and locks it.
    static Result<ContainerDir> create(const std::string& root, const std::string& id);
    // Opens an existing container, locked unless `lock` is false (readers: state, list, ps
    // rely on state.json being replaced atomically); "container does not exist" (ENOENT).
    static Result<ContainerDir> open(const std::string& root, const std::string& id,
                                     bool lock = true);

    const std::string& path() const { return path_; }
    const std::string& id() const { return id_; }
    int lock_fd() const { return lock_.get(); }
    // Releases the lock now, even while a forked child still holds a copy of the fd (flock
    // belongs to the open file description, which a plain close would leave locked).
    void unlock();
    std::string file(const std::string& name) const { return path_ + "/" + name; }

    Result<ContainerState> load() const;
    Status save(const ContainerState& st) const;
    // Removes the whole directory (the lock goes with it).
    Status remove();

  private:
    std::string path_, id_;
    UniqueFd lock_;
};

// Checks an id the way runc does (letters, digits, '_', '+', '-', '.'; no path tricks).
Status validate_id(const std::string& id);

// Start time (clock ticks since boot, /proc/<pid>/stat field 22) or 0 if gone.
uint64_t pid_start_time(pid_t pid);
// True if pid is alive (not a zombie) and its start time matches.
bool init_alive(const ContainerState& st);
// The status as the kernel sees it now.
RunStatus current_status(const ContainerDir& dir, const ContainerState& st);

// Ids of every container under root (directories with a state.json), sorted.
std::vector<std::string> list_ids(const std::string& root);

}  // namespace berth::runtime
