// Both diff walks hold directory fds and name entries relative to them, with O_NOFOLLOW and
// AT_SYMLINK_NOFOLLOW everywhere: the tree was written by the container, and a symlink it made
// (etc/passwd -> /etc/shadow, a directory -> /) is archived as a symlink, never read through.
#include "imagetool/bundle/diff.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/bundle/mtree.hpp"
#include "imagetool/bundle/snapshot.hpp"

namespace berth::image::bundle {
namespace {

Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& path) {
    int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return sys_error("open '" + path + "'");
    DIR* dir = fdopendir(d);
    if (!dir) {
        close(d);
        return sys_error("opendir '" + path + "'");
    }
    std::vector<std::string> names;
    while (struct dirent* de = readdir(dir)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

Result<UniqueFd> open_subdir(int dirfd, const std::string& name, const std::string& path) {
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sys_error("open '" + path + "'");
    return fd;
}

bool xattr_is(int fd, const char* name, char want) {
    char v[4];
    ssize_t n = fgetxattr(fd, name, v, sizeof v);
    return n == 1 && v[0] == want;
}

// A name the tar form reserves: stored, it would read back as a whiteout and delete a lower
// entry instead of being a file (Docker refuses it too).
Status check_name(const std::string& name, const std::string& path) {
    if (name.starts_with(".wh."))
        return error("'" + path + "': a name starting with .wh. cannot be stored in a layer");
    return ok();
}

bool has_xattr(int fd, const char* name) {
    return fgetxattr(fd, name, nullptr, 0) >= 0 || errno == ERANGE;
}

// ---- snapshot: the upper directory --------------------------------------------------------

struct UpperWalk {
    layer::TarWriter& w;
    DiffStats stats;

    Status walk(int dirfd, const std::string& path) {
        for (const auto& n : TRY(sorted_names(dirfd, path))) {
            std::string p = path + "/" + n;
            struct stat st;
            if (fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
                return sys_error("stat '" + p + "'");
            if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                // overlayfs's whiteout: the name was removed from the layers below.
                TRY(w.add_marker(path + "/.wh." + n, st, st.st_mode & 07777));
                ++stats.whiteouts;
                continue;
            }
            TRY(check_name(n, p));
            TRY(w.add(dirfd, n, p, false));
            ++stats.entries;
            if (!S_ISDIR(st.st_mode)) continue;
            UniqueFd sub = TRY(open_subdir(dirfd, n, p));
            // A renamed lower directory would be a redirect, whose content lives in the lower
            // layers under its old name: not something a layer can say. The bundle mounts with
            // redirect_dir=off, so rename(2) copies instead; an upper made otherwise is refused.
            if (has_xattr(sub.get(), "trusted.overlay.redirect") ||
                has_xattr(sub.get(), "user.overlay.redirect"))
                return error("'" + p + "' is an overlay redirect (renamed lower directory)");
            if (xattr_is(sub.get(), "trusted.overlay.opaque", 'y') ||
                xattr_is(sub.get(), "user.overlay.opaque", 'y')) {
                TRY(w.add_marker(p + "/.wh..wh..opq", st, st.st_mode & 07777));
                ++stats.whiteouts;
            }
            TRY(walk(sub.get(), p));
        }
        return ok();
    }
};

struct SnapshotInfo {
    std::string store;
    std::vector<std::string> layers;
};

Result<SnapshotInfo> read_info(const std::string& bundle) {
    std::string path = bundle + "/.snapshot/info.json";
    auto text = TRY_CTX(read_file(path, 1u << 20), "read '" + path + "'");
    SnapshotInfo i;
    try {
        auto j = nlohmann::json::parse(text);
        i.store = j.at("store").get<std::string>();
        i.layers = j.at("layers").get<std::vector<std::string>>();
    } catch (const std::exception& e) {
        return error("'" + path + "': " + e.what());
    }
    return i;
}

// ---- full unpack: the rootfs against its manifest --------------------------------------

struct FullWalk {
    layer::TarWriter& w;
    const Mtree& old;
    // Recorded entries by parent directory ("." for the root's).
    std::unordered_map<std::string, std::vector<std::string>> children;
    dev_t dev = 0;
    DiffStats stats;

    void index() {
        for (const auto& [path, e] : old) {
            if (path == ".") continue;
            auto sl = path.rfind('/');
            std::string parent = sl == std::string::npos ? "." : path.substr(0, sl);
            std::string name = sl == std::string::npos ? path : path.substr(sl + 1);
            children[parent].push_back(name);
        }
        for (auto& [p, v] : children)
            std::sort(v.begin(), v.end());
    }

    static std::string tar_path(const std::string& rel) { return rel == "." ? "." : "./" + rel; }

    Status walk(int dirfd, const std::string& rel, const struct stat& dir_st) {
        auto names = TRY(sorted_names(dirfd, tar_path(rel)));
        // Removed since unpack: a whiteout each. Only this level's names: a removed directory
        // takes its content with it, and below a directory that is now something else there is
        // nothing left to hide.
        if (auto it = children.find(rel); it != children.end()) {
            for (const auto& n : it->second) {
                if (std::binary_search(names.begin(), names.end(), n)) continue;
                struct stat wst {};
                wst.st_mtim = dir_st.st_mtim;
                TRY(w.add_marker(tar_path(rel) + "/.wh." + n, wst, 0));
                ++stats.whiteouts;
            }
        }
        for (const auto& n : names) {
            std::string r = rel == "." ? n : rel + "/" + n;
            struct stat st;
            if (fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
                return sys_error("stat '" + r + "'");
            if (st.st_dev != dev) continue;  // a mount point's content is not the container's
            auto it = old.find(r);
            if (it == old.end() || !mtree_same(it->second, mtree_entry(st))) {
                if (S_ISSOCK(st.st_mode)) continue;
                TRY(check_name(n, r));
                TRY(w.add(dirfd, n, "./" + r, false));
                ++stats.entries;
            }
            if (!S_ISDIR(st.st_mode)) continue;
            UniqueFd sub = TRY(open_subdir(dirfd, n, r));
            TRY(walk(sub.get(), r, st));
        }
        return ok();
    }
};

}  // namespace

Result<DiffStats> write_snapshot_diff(const std::string& bundle, layer::TarWriter& w) {
    SnapshotInfo info = TRY(read_info(bundle));
    std::string upper = bundle + "/.snapshot/upper";
    UniqueFd root(open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return sys_error("open '" + upper + "'");
    struct stat now;
    if (fstat(root.get(), &now) < 0) return sys_error("stat '" + upper + "'");
    // The upper's root started as a copy of the top layer's root (mount_snapshot): recorded
    // only if the container changed it.
    bool root_changed = true;
    if (!info.layers.empty()) {
        struct stat was;
        std::string top = layer_cache_dir(info.store) + "/" + info.layers.back() + "/fs";
        if (stat(top.c_str(), &was) == 0)
            root_changed = was.st_mode != now.st_mode || was.st_uid != now.st_uid ||
                           was.st_gid != now.st_gid || was.st_mtim.tv_sec != now.st_mtim.tv_sec ||
                           was.st_mtim.tv_nsec != now.st_mtim.tv_nsec;
    }
    UpperWalk walk{w, {}};
    if (root_changed) {
        TRY(w.add_root(root.get()));
        ++walk.stats.entries;
    }
    if (xattr_is(root.get(), "trusted.overlay.opaque", 'y'))
        return error("the upper directory's root is opaque: not a layer");
    TRY_CTX(walk.walk(root.get(), "."), "read the changes in '" + upper + "'");
    return walk.stats;
}

Result<DiffStats> write_full_diff(const std::string& bundle, layer::TarWriter& w) {
    Mtree old = TRY(read_bundle_mtree(bundle));
    std::string rootfs = bundle + "/rootfs";
    UniqueFd root(open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return sys_error("open '" + rootfs + "'");
    struct stat st;
    if (fstat(root.get(), &st) < 0) return sys_error("stat '" + rootfs + "'");
    FullWalk walk{w, old, {}, st.st_dev, {}};
    walk.index();
    auto it = old.find(".");
    if (it == old.end() || !mtree_same(it->second, mtree_entry(st))) {
        TRY(w.add_root(root.get()));
        ++walk.stats.entries;
    }
    TRY_CTX(walk.walk(root.get(), ".", st), "read the changes in '" + rootfs + "'");
    return walk.stats;
}

}  // namespace berth::image::bundle
