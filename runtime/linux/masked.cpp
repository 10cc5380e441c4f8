// Masked and read-only paths. The target is an fd resolved inside the root and the mount is
// made onto that fd; the /dev/null used for masking is an fd verified with fstat, never a name
// looked up in the container (CVE-2025-31133).
#include "runtime/linux/masked.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/in_root.hpp"
#include "runtime/linux/mounts.hpp"

namespace berth::runtime::linux_ {
namespace {

// Where a masked or read-only path is missing (or a path component is not a directory) the
// entry does not apply to this image: runc skips it the same way.
bool absent(const Error& e) {
    return e.code() == ENOENT || e.code() == ENOTDIR;
}

}  // namespace

Status verify_devnull(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return sys_error("stat /dev/null");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
        return error("/dev/null is not the null device (char 1:3)");
    return ok();
}

Result<UniqueFd> open_verified_devnull() {
    UniqueFd fd(open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sys_error("open /dev/null");
    TRY(verify_devnull(fd.get()));
    return fd;
}

Status apply_masked_paths(const std::vector<std::string>& paths, int root_fd, int devnull_fd) {
    if (paths.empty()) return ok();
    TRY(verify_devnull(devnull_fd));
    for (const auto& path : paths) {
        std::string what = "masked path '" + path + "'";
        auto target = open_in_root(root_fd, path, O_PATH);
        if (!target) {
            if (absent(target.error())) continue;
            return std::move(target).error().with_context(what);
        }
        struct stat st;
        if (fstat(target->get(), &st) < 0) return sys_error(what);
        if (S_ISDIR(st.st_mode)) {
            MountOptions o;
            o.flags = MS_RDONLY;
            auto mnt = TRY(new_fs_mount("tmpfs", "tmpfs", o, what));
            TRY(attach_tree(mnt.get(), target->get(), what));
        } else {
            auto tree = TRY_CTX(clone_tree(devnull_fd, "", false), what + ": bind /dev/null");
            TRY(attach_tree(tree.get(), target->get(), what));
        }
    }
    return ok();
}

Status apply_readonly_paths(const std::vector<std::string>& paths, int root_fd) {
    for (const auto& path : paths) {
        std::string what = "readonly path '" + path + "'";
        auto target = open_in_root(root_fd, path, O_PATH);
        if (!target) {
            if (absent(target.error())) continue;
            return std::move(target).error().with_context(what);
        }
        auto tree = TRY_CTX(clone_tree(target->get(), "", true), what);
        AttrChange ro;
        ro.set = MOUNT_ATTR_RDONLY;
        TRY(set_mount_attrs(tree.get(), ro, false, what));
        TRY(attach_tree(tree.get(), target->get(), what));
    }
    return ok();
}

}  // namespace berth::runtime::linux_
