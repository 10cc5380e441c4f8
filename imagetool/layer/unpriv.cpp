// Rootless extraction helpers: held-back directory modes and the rootlesscontainers xattr.
#include "imagetool/layer/unpriv.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/in_root.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/layer/path.hpp"

namespace berth::image::layer {
namespace {

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(v));
}

}  // namespace

std::string rootless_xattr(uint32_t uid, uint32_t gid) {
    if (uid == 0 && gid == 0) return {};
    // proto3 leaves out zero fields, so 0 (the caller, who is root inside the user namespace)
    // is spelled NoopID: "keep the file's real owner".
    constexpr uint32_t kNoop = kRootlessNoop;
    std::string out;
    out.push_back(0x08);  // field 1, varint
    put_varint(out, uid == 0 ? kNoop : uid);
    out.push_back(0x10);  // field 2, varint
    put_varint(out, gid == 0 ? kNoop : gid);
    return out;
}

std::optional<std::pair<uint32_t, uint32_t>> parse_rootless_xattr(std::string_view v) {
    // proto3: absent fields are 0, which for these ids means root.
    std::pair<uint32_t, uint32_t> out{0, 0};
    size_t i = 0;
    while (i < v.size()) {
        uint8_t key = uint8_t(v[i++]);
        if ((key & 7) != 0) return std::nullopt;  // only varint fields are defined
        uint64_t val = 0;
        int shift = 0;
        for (;;) {
            if (i >= v.size() || shift > 63) return std::nullopt;
            uint8_t b = uint8_t(v[i++]);
            val |= uint64_t(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80)) break;
        }
        if (key >> 3 == 1) out.first = uint32_t(val);
        if (key >> 3 == 2) out.second = uint32_t(val);
    }
    return out;
}

Status DirModes::open_up(int fd, const std::string& path) {
    struct stat st;
    if (fstat(fd, &st) < 0) return sys_error("stat directory '" + path + "'");
    if ((st.st_mode & 0700) == 0700 || st.st_uid != geteuid()) return ok();
    // Through the magic link: the fd is often O_PATH, which fchmod refuses.
    if (chmod(fd_path(fd).c_str(), (st.st_mode & 07777) | 0700) < 0)
        return sys_error("make directory '" + path + "' writable while the layer is applied");
    modes_.emplace(path, st.st_mode & 07777);
    return ok();
}

Status DirModes::open_up_path(int root_fd, const std::string& clean) {
    std::string prefix;
    auto comps = path_components(clean);
    for (size_t i = 0; i + 1 < comps.size(); ++i) {
        prefix += (prefix.empty() ? "" : "/") + comps[i];
        auto pn = resolve_entry_parent(root_fd, prefix);
        if (!pn) return ok();  // the caller's own resolution reports it
        UniqueFd fd(openat(pn->dir.get(), pn->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st;
        if (!fd || fstat(fd.get(), &st) < 0) return ok();
        if (S_ISLNK(st.st_mode))
            continue;  // resolution follows it in the root; its target
                       // is opened up when the walk reaches it by name
        if (!S_ISDIR(st.st_mode)) return ok();
        TRY(open_up(fd.get(), prefix));
    }
    return ok();
}

Status DirModes::restore(int root_fd) {
    std::vector<std::pair<std::string, mode_t>> order(modes_.begin(), modes_.end());
    auto depth = [](const std::string& p) {
        return p.empty() ? -1 : int(std::count(p.begin(), p.end(), '/'));
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto& a, const auto& b) { return depth(a.first) > depth(b.first); });
    for (const auto& [path, mode] : order) {
        UniqueFd fd;
        if (path.empty()) {
            fd.reset(fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
        } else {
            auto r = open_in_root(root_fd, path, O_PATH, 0, kInRootNoFollowLast | kInRootBeneath);
            if (!r) {
                int c = r.error().code();
                if (c == ENOENT || c == ENOTDIR || c == EXDEV) continue;  // removed later on
                return std::move(r).error().with_context("restore mode of '" + path + "'");
            }
            fd = std::move(r).value();
        }
        struct stat st;
        if (!fd || fstat(fd.get(), &st) < 0) return sys_error("stat '" + path + "'");
        if (!S_ISDIR(st.st_mode)) continue;  // replaced by a non-directory later on
        if (chmod(fd_path(fd.get()).c_str(), mode) < 0)
            return sys_error("restore mode of '" + path + "'");
    }
    modes_.clear();
    return ok();
}

}  // namespace berth::image::layer
