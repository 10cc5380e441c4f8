// Whiteout application: removal that spares this layer's own entries, and the overlayfs forms.
#include "imagetool/layer/whiteout.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/file.hpp"
#include "base/unique_fd.hpp"

namespace berth::image::layer {
namespace {

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

Result<std::vector<std::string>> list_dir(int dir_fd) {
    int d = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return sys_error("open directory");
    DIR* dir = fdopendir(d);
    if (!dir) {
        close(d);
        return sys_error("opendir");
    }
    std::vector<std::string> out;
    errno = 0;
    while (struct dirent* e = readdir(dir)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        out.emplace_back(e->d_name);
    }
    int err = errno;
    closedir(dir);
    if (err) return Error::sys(err, "readdir");
    return out;
}

}  // namespace

Result<Whiteout> parse_whiteout(const std::string& clean) {
    size_t slash = clean.rfind('/');
    std::string dir = slash == std::string::npos ? "" : clean.substr(0, slash);
    std::string_view base = slash == std::string::npos ? std::string_view(clean)
                                                       : std::string_view(clean).substr(slash + 1);
    if (base.substr(0, kWhiteoutPrefix.size()) != kWhiteoutPrefix) return Whiteout{};
    if (base == kOpaqueWhiteout) return Whiteout{WhiteoutKind::opaque, dir};
    if (base.substr(0, 8) == ".wh..wh.") return Whiteout{WhiteoutKind::ignored, {}};
    std::string_view hidden = base.substr(kWhiteoutPrefix.size());
    if (hidden.empty()) return error("whiteout '.wh.' names no entry");
    if (hidden == "." || hidden == "..")
        return error("whiteout of '" + std::string(hidden) + "' would act outside its directory");
    return Whiteout{WhiteoutKind::file, join(dir, std::string(hidden))};
}

void LayerEntries::add(const std::string& path) {
    if (!created_.insert(path).second) return;
    size_t pos = path.size();
    while ((pos = path.rfind('/', pos - 1)) != std::string::npos && pos > 0) {
        if (!ancestors_.insert(path.substr(0, pos)).second) break;
    }
    ancestors_.insert("");
}

Status remove_tree(int dir_fd, const std::string& name) {
    if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return ok();
    if (errno != EISDIR && errno != EPERM) return sys_error("remove '" + name + "'");
    allow_owner_rwx(dir_fd, name.c_str());
    UniqueFd d(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return sys_error("open '" + name + "'");
    auto children = TRY_CTX(list_dir(d.get()), "'" + name + "'");
    for (const auto& c : children)
        TRY_CTX(remove_tree(d.get(), c), "'" + name + "'");
    if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
        return sys_error("remove directory '" + name + "'");
    return ok();
}

Status remove_lower(int dir_fd, const std::string& name, const std::string& path,
                    const LayerEntries& mine) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return ok();
        return sys_error("stat '" + path + "'");
    }
    if (!mine.touched(path)) return remove_tree(dir_fd, name);
    // This layer's own non-directory: whiteouts never hide their own layer.
    if (!S_ISDIR(st.st_mode)) return ok();
    UniqueFd d(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return sys_error("open '" + path + "'");
    // The directory stays (this layer has entries in it) and keeps its times: removing its
    // lower children is not a change of its own (docs/layers.md).
    struct stat ds;
    if (fstat(d.get(), &ds) < 0) return sys_error("stat '" + path + "'");
    TRY(clear_lower_children(d.get(), path, mine));
    struct timespec t[2] = {ds.st_atim, ds.st_mtim};
    if (futimens(d.get(), t) < 0) return sys_error("set times of '" + path + "'");
    return ok();
}

Status clear_lower_children(int dir_fd, const std::string& path, const LayerEntries& mine) {
    auto children = TRY_CTX(list_dir(dir_fd), "'" + path + "'");
    for (const auto& c : children)
        TRY(remove_lower(dir_fd, c, join(path, c), mine));
    return ok();
}

}  // namespace berth::image::layer
