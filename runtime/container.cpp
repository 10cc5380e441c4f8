// Container state directory: atomic state.json, flock per container, status from /proc.
#include "runtime/container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "runtime/cgroups/cgroups.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime {

const char* status_name(RunStatus s) {
    switch (s) {
        case RunStatus::creating:
            return "creating";
        case RunStatus::created:
            return "created";
        case RunStatus::running:
            return "running";
        case RunStatus::paused:
            return "paused";
        case RunStatus::stopped:
            return "stopped";
    }
    return "unknown";
}

std::string state_json(const ContainerState& st, RunStatus status, bool pretty) {
    // runc prints a stopped container's pid as 0.
    nlohmann::ordered_json j;
    j["ociVersion"] = spec::kRuntimeSpecVersion;
    j["id"] = st.id;
    j["pid"] = status == RunStatus::stopped ? 0 : st.pid;
    j["status"] = status_name(status);
    j["bundle"] = st.bundle;
    j["rootfs"] = st.rootfs;
    j["created"] = st.created;
    if (!st.annotations.empty()) j["annotations"] = st.annotations;
    j["owner"] = st.owner;
    return pretty ? j.dump(2) : j.dump();
}

Status validate_id(const std::string& id) {
    if (id.empty()) return error("container id cannot be empty");
    if (id.size() > 1024) return error("invalid container id: too long");
    if (id == "." || id == "..") return error("invalid container id: '" + id + "'");
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
              c == '.'))
            return error("invalid container id: '" + id + "'");
    return ok();
}

namespace {
Result<UniqueFd> lock_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + path + "'");
    while (::flock(fd.get(), LOCK_EX) < 0)
        if (errno != EINTR) return sys_error("lock '" + path + "'");
    return fd;
}
}  // namespace

Result<ContainerDir> ContainerDir::create(const std::string& root, const std::string& id) {
    TRY(validate_id(id));
    TRY(mkdir_p(root, 0711));
    ContainerDir d;
    d.id_ = id;
    d.path_ = root + "/" + id;
    if (::mkdir(d.path_.c_str(), 0711) < 0) {
        if (errno == EEXIST) return error(ErrorKind::exists, "container with id exists: " + id);
        return sys_error("create '" + d.path_ + "'");
    }
    auto fd = lock_dir(d.path_);
    if (!fd) {
        ::rmdir(d.path_.c_str());
        return std::move(fd).error();
    }
    d.lock_ = std::move(*fd);
    return d;
}

Result<ContainerDir> ContainerDir::open(const std::string& root, const std::string& id, bool lock) {
    if (!validate_id(id)) return error(ErrorKind::not_found, "container does not exist");
    ContainerDir d;
    d.id_ = id;
    d.path_ = root + "/" + id;
    if (lock) {
        auto fd = lock_dir(d.path_);
        if (!fd) {
            if (fd.error().code() == ENOENT)
                return error(ErrorKind::not_found, "container does not exist");
            return std::move(fd).error();
        }
        d.lock_ = std::move(*fd);
    }
    // A directory without state.json is a create that has not finished (or was removed
    // while we waited for the lock).
    struct stat sb;
    if (::stat(d.file("state.json").c_str(), &sb) < 0)
        return error(ErrorKind::not_found, "container does not exist");
    return d;
}

Result<ContainerState> ContainerDir::load() const {
    auto text = TRY(read_file(file("state.json"), 16 << 20));
    try {
        auto j = nlohmann::json::parse(text);
        int format = j.value("state_format", 0);
        if (format > kStateFormat)
            return error("state of container '" + id_ + "' has format " + std::to_string(format) +
                         ", newer than this berth reads (" + std::to_string(kStateFormat) +
                         "): manage it with the newer berth that created it");
        ContainerState st;
        st.id = j.at("id").get<std::string>();
        st.pid = j.at("pid").get<pid_t>();
        st.pid_start_time = j.at("pid_start_time").get<uint64_t>();
        st.bundle = j.at("bundle").get<std::string>();
        st.rootfs = j.at("rootfs").get<std::string>();
        st.created = j.at("created").get<std::string>();
        st.owner = j.value("owner", "");
        st.annotations = j.value("annotations", std::map<std::string, std::string>{});
        st.new_pid_ns = j.value("new_pid_ns", false);
        if (j.contains("cgroup")) st.cgroup = j["cgroup"];
        st.cgroups_path = j.value("cgroups_path", "");
        if (j.contains("resources")) st.resources = j["resources"];
        st.systemd_cgroup = j.value("systemd_cgroup", false);
        return st;
    } catch (const nlohmann::json::exception& e) {
        return error("state of container '" + id_ + "': " + e.what());
    }
}

Status ContainerDir::save(const ContainerState& st) const {
    nlohmann::json j;
    j["state_format"] = kStateFormat;
    j["id"] = st.id;
    j["pid"] = st.pid;
    j["pid_start_time"] = st.pid_start_time;
    j["bundle"] = st.bundle;
    j["rootfs"] = st.rootfs;
    j["created"] = st.created;
    j["owner"] = st.owner;
    j["annotations"] = st.annotations;
    j["new_pid_ns"] = st.new_pid_ns;
    if (!st.cgroup.is_null()) j["cgroup"] = st.cgroup;
    j["cgroups_path"] = st.cgroups_path;
    if (!st.resources.is_null()) j["resources"] = st.resources;
    j["systemd_cgroup"] = st.systemd_cgroup;
    return write_file_replace(file("state.json"), j.dump(), 0600);
}

void ContainerDir::unlock() {
    if (lock_) ::flock(lock_.get(), LOCK_UN);
    lock_.reset();
}

Status ContainerDir::remove() {
    auto st = remove_all(path_);
    lock_.reset();
    return st;
}

uint64_t pid_start_time(pid_t pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!text) return 0;
    // comm (field 2) may hold spaces and parentheses: fields restart after the last ')'.
    auto p = text->rfind(')');
    if (p == std::string::npos) return 0;
    std::string rest = text->substr(p + 2);
    // rest starts at field 3 (state); start time is field 22.
    char state = rest.empty() ? '?' : rest[0];
    if (state == 'Z' || state == 'X') return 0;
    size_t pos = 0;
    for (int field = 3; field < 22; ++field) {
        pos = rest.find(' ', pos);
        if (pos == std::string::npos) return 0;
        ++pos;
    }
    return std::strtoull(rest.c_str() + pos, nullptr, 10);
}

bool init_alive(const ContainerState& st) {
    if (st.pid <= 0) return false;
    uint64_t t = pid_start_time(st.pid);
    return t != 0 && t == st.pid_start_time;
}

RunStatus current_status(const ContainerDir& dir, const ContainerState& st) {
    if (!init_alive(st)) return RunStatus::stopped;
    // The init waits for `start` on start.sock; start removes it once the init has gone on.
    struct stat sb;
    if (::stat(dir.file("start.sock").c_str(), &sb) == 0) return RunStatus::created;
    if (!st.cgroup.is_null())
        if (auto m = cgroups::Manager::from_state(st.cgroup))
            if (auto f = m->frozen(); f && *f) return RunStatus::paused;
    return RunStatus::running;
}

std::vector<std::string> list_ids(const std::string& root) {
    std::vector<std::string> ids;
    DIR* d = ::opendir(root.c_str());
    if (!d) return ids;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        struct stat sb;
        if (::stat((root + "/" + n + "/state.json").c_str(), &sb) == 0) ids.push_back(n);
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace berth::runtime
