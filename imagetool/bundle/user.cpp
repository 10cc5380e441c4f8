// User resolution as runc's libcontainer/user does it (GetExecUser): name or number for the
// user, optional name or number for the group, supplementary groups from /etc/group.
#include "imagetool/bundle/user.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/file.hpp"
#include "base/in_root.hpp"

namespace berth::image::bundle {
namespace {

constexpr size_t kMaxDbFile = 4u << 20;

// Reads a database file in the root: a symlink is followed only inside the root, and
// anything but a regular file (a FIFO that would block, /dev/zero) is refused.
Result<std::string> read_db(int rootfs_fd, const char* path) {
    auto fd = open_in_root(rootfs_fd, path, O_RDONLY | O_NONBLOCK);
    if (!fd) {
        if (fd.error().code() == ENOENT) return std::string();
        return std::move(fd).error().with_context(std::string("read ") + path);
    }
    struct stat st;
    if (fstat(fd->get(), &st) < 0) return sys_error(std::string("stat ") + path);
    if (!S_ISREG(st.st_mode))
        return error(std::string(path) + " in the image is not a regular file");
    auto text = read_fd(fd->get(), kMaxDbFile);
    if (!text) return std::move(text).error().with_context(std::string("read ") + path);
    return std::move(text).value();
}

}  // namespace

Result<ResolvedUser> resolve_user(const std::string& user, const std::vector<PasswdEntry>& pw,
                                  const std::vector<GroupEntry>& gr) {
    std::string u = user, g;
    bool has_group = false;
    if (auto c = user.find(':'); c != std::string::npos) {
        u = user.substr(0, c);
        g = user.substr(c + 1);
        has_group = true;
    }
    ResolvedUser r;
    const PasswdEntry* entry = nullptr;
    uint32_t num;
    if (u.empty()) u = "0";
    if (parse_id(u, num)) {
        r.uid = num;
        for (const auto& e : pw)
            if (e.uid == num) {
                entry = &e;
                break;
            }
        r.gid = entry ? entry->gid : 0;
    } else {
        for (const auto& e : pw)
            if (e.name == u) {
                entry = &e;
                break;
            }
        if (!entry) return error("user '" + u + "' not found in the image's /etc/passwd");
        r.uid = entry->uid;
        r.gid = entry->gid;
    }
    if (entry) r.home = entry->home;
    if (has_group) {
        if (g.empty()) return error("user '" + user + "': empty group");
        if (parse_id(g, num)) {
            r.gid = num;
        } else {
            auto it = std::find_if(gr.begin(), gr.end(), [&](auto& e) { return e.name == g; });
            if (it == gr.end())
                return error("group '" + g + "' not found in the image's /etc/group");
            r.gid = it->gid;
        }
    } else if (entry) {
        // Supplementary groups only when the group was not forced, as Docker does.
        for (const auto& e : gr) {
            if (e.gid == r.gid) continue;
            if (std::find(e.members.begin(), e.members.end(), entry->name) != e.members.end() &&
                std::find(r.additional_gids.begin(), r.additional_gids.end(), e.gid) ==
                    r.additional_gids.end())
                r.additional_gids.push_back(e.gid);
        }
    }
    return r;
}

Result<ResolvedUser> resolve_user(int rootfs_fd, const std::string& user) {
    std::string pw = TRY(read_db(rootfs_fd, "/etc/passwd"));
    std::string gr = TRY(read_db(rootfs_fd, "/etc/group"));
    return resolve_user(user, parse_passwd(pw), parse_group(gr));
}

}  // namespace berth::image::bundle
