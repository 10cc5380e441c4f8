// Cgroup knob file access with errors that name the knob and the value.
#include "runtime/cgroups/knob.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/file.hpp"
#include "base/unique_fd.hpp"

namespace berth::cgroups::knob {

Status write(const std::string& dir, const std::string& name, const std::string& value) {
    // O_TRUNC as runc does: harmless on cgroupfs, and correct on the plain files tests use.
    std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return sys_error("write " + name + "='" + value + "' in " + dir);
    ssize_t n;
    do {
        n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("write " + name + "='" + value + "' in " + dir);
    return ok();
}

Result<std::string> read(const std::string& dir, const std::string& name) {
    auto r = read_file(dir + "/" + name, 1u << 20);
    if (!r) return Error::sys(r.error().code(), "read " + dir + "/" + name);
    std::string s = std::move(r.value());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

Result<uint64_t> read_u64(const std::string& dir, const std::string& name) {
    std::string s = TRY(read(dir, name));
    if (s == "max") return UINT64_MAX;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || errno != 0 || *end != '\0') {
        // v1 reports unlimited values such as "-1" for some knobs.
        if (s == "-1") return UINT64_MAX;
        return error("read " + dir + "/" + name + ": not a number: '" + s + "'");
    }
    return static_cast<uint64_t>(v);
}

bool exists(const std::string& dir, const std::string& name) {
    return ::access((dir + "/" + name).c_str(), F_OK) == 0;
}

Result<uint64_t> read_keyed(const std::string& dir, const std::string& name,
                            const std::string& key) {
    std::string s = TRY(read(dir, name));
    std::istringstream in(s);
    std::string k;
    uint64_t v = 0;
    while (in >> k >> v) {
        if (k == key) return v;
    }
    return Error::sys(ENOENT, "read " + dir + "/" + name + ": no key '" + key + "'");
}

std::string v2_num(int64_t v) {
    return v < 0 ? "max" : std::to_string(v);
}

}  // namespace berth::cgroups::knob
