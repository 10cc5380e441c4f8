// Entry path cleaning and parent resolution. The parent is opened beneath the root
// (RESOLVE_BENEATH, or base/in_root's walk in the same mode): unlike RESOLVE_IN_ROOT it fails
// instead of clamping, which is how a symlink planted by an earlier entry is told apart from a
// legitimate path.
#include "imagetool/layer/path.hpp"

#include <fcntl.h>
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

Result<ParentAndName> resolve_entry_parent(int root_fd, const std::string& clean) {
    if (clean.empty()) return Error::sys(EINVAL, "the root has no parent");
    size_t slash = clean.rfind('/');
    std::string name = slash == std::string::npos ? clean : clean.substr(slash + 1);
    if (slash == std::string::npos) {
        int d = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (d < 0) return sys_error("dup root");
        return ParentAndName{UniqueFd(d), std::move(name)};
    }
    std::string parent = clean.substr(0, slash);
    // RESOLVE_BENEATH through base/in_root: openat2 where it may be used, else the walk with
    // the same refusal of links that leave the root.
    auto r = open_in_root(root_fd, parent, O_PATH | O_DIRECTORY, 0, kInRootBeneath);
    if (!r) {
        if (r.error().code() == EXDEV)
            return Error::sys(EXDEV,
                              "parent '" + parent + "' leads out of the root through a symlink");
        return std::move(r).error().with_context("open parent '" + parent + "'");
    }
    return ParentAndName{std::move(r).value(), std::move(name)};
}

}  // namespace berth::image::layer
