// Entry path cleaning and parent resolution. The parent is opened with openat2(RESOLVE_BENEATH)
// first: unlike RESOLVE_IN_ROOT it fails instead of clamping, which is how a symlink planted by
// an earlier entry is told apart from a legitimate path. Missing parents and kernels without
// openat2 go through base/in_root (clamped: still never outside the root).
#include "imagetool/layer/path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace berth::image::layer {

Result<std::string> clean_entry_path(std::string_view raw) {
    if (raw.empty()) return error("empty entry name");
    if (raw[0] == '/') return error("absolute path (entries must be relative to the layer root)");
    if (raw.find('\0') != std::string_view::npos) return error("NUL byte in the name");
    std::string out;
    out.reserve(raw.size());
    for (const auto& c : path_components(raw)) {
        if (c == ".") continue;
        if (c == "..") return error("'..' in the path would leave the layer root");
        if (!out.empty()) out += '/';
        out += c;
    }
    return out;
}

Result<ParentAndName> resolve_entry_parent(int root_fd, const std::string& clean,
                                           bool create_parents) {
    if (clean.empty()) return Error::sys(EINVAL, "the root has no parent");
    size_t slash = clean.rfind('/');
    std::string name = slash == std::string::npos ? clean : clean.substr(slash + 1);
    if (slash == std::string::npos) {
        int d = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (d < 0) return sys_error("dup root");
        return ParentAndName{UniqueFd(d), std::move(name)};
    }
    std::string parent = clean.substr(0, slash);
    if (have_openat2()) {
        struct open_how how = {};
        how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        for (;;) {
            long fd = syscall(SYS_openat2, root_fd, parent.c_str(), &how, sizeof how);
            if (fd >= 0) return ParentAndName{UniqueFd(int(fd)), std::move(name)};
            if (errno == EAGAIN) continue;
            break;
        }
        if (errno == EXDEV)
            return Error::sys(EXDEV,
                              "parent '" + parent + "' leads out of the root through a symlink");
        if (errno != ENOENT && errno != ENOSYS)
            return sys_error("open parent '" + parent + "' in root");
        if (errno == ENOENT && !create_parents)
            return sys_error("open parent '" + parent + "' in root");
    }
    auto r =
        open_parent_in_root(root_fd, clean, create_parents ? kInRootMkdirParents : kInRootNone);
    if (!r) return std::move(r).error().with_context("parent '" + parent + "'");
    return r;
}

}  // namespace berth::image::layer
