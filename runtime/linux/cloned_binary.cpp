// Re-exec from a copy of berth the container cannot write (CVE-2019-5736).
#include "runtime/linux/cloned_binary.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "base/unique_fd.hpp"

extern char** environ;

namespace berth::runtime::linux_ {

namespace {
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
// Set only across the re-exec from the read-only detached mount, and removed at once: a
// read-only filesystem alone does not say the binary is our private, detached copy.
constexpr const char* kMarker = "_BERTH_CLONED_BINARY";

// The cheap way (no copy): a detached clone of the mount holding /proc/self/exe, narrowed to
// that one file and made read-only. It belongs to no mount namespace, so nothing can be
// mounted over it, nothing propagates to other namespaces, and no process (not even host
// root) can make it writable through /proc/<pid>/exe: mount_setattr needs the mount fd. The
// kernel keeps the mount alive for as long as a process runs from it.
Status exec_readonly_mount(char** argv) {
    int fd = ::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0) return sys_error("open_tree /proc/self/exe");
    UniqueFd tree(fd);
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
        return sys_error("make the berth binary's mount read-only");
    if (::setenv(kMarker, "1", 1) < 0) return sys_error("setenv");
    ::syscall(SYS_execveat, tree.get(), "", argv, environ, AT_EMPTY_PATH);
    int saved = errno;
    ::unsetenv(kMarker);
    return Error::sys(saved, "re-exec berth from a read-only mount");
}

// The fallback (rootless, or a kernel without the new mount API): a sealed memfd copy.
Status exec_sealed_copy(char** argv) {
    UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!src) return sys_error("open /proc/self/exe");
    struct stat sb;
    if (::fstat(src.get(), &sb) < 0) return sys_error("stat /proc/self/exe");
    // MFD_EXEC: kernels with vm.memfd_noexec would otherwise make the copy non-executable.
    int mfd = ::memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (mfd < 0 && errno == EINVAL) mfd = ::memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return sys_error("memfd_create");
    UniqueFd dst(mfd);
    off_t left = sb.st_size;
    while (left > 0) {
        ssize_t n = ::sendfile(dst.get(), src.get(), nullptr, size_t(left));
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("copy berth binary to memfd");
        }
        if (n == 0) return error("copy berth binary to memfd: short copy");
        left -= n;
    }
    if (::fchmod(dst.get(), 0555) < 0) return sys_error("chmod memfd");
    if (::fcntl(dst.get(), F_ADD_SEALS, kSeals) < 0) return sys_error("seal memfd");
    ::syscall(SYS_execveat, dst.get(), "", argv, environ, AT_EMPTY_PATH);
    return sys_error("re-exec berth from a sealed memfd");
}
}  // namespace

bool running_protected() {
    bool marked = ::getenv(kMarker) != nullptr;
    if (marked) ::unsetenv(kMarker);  // never inherited by hooks or the container
    UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals >= 0) return (seals & kSeals) == kSeals;
    if (!marked) return false;
    struct statfs sfs;
    return ::fstatfs(fd.get(), &sfs) == 0 && (sfs.f_flags & ST_RDONLY) != 0;
}

Status reexec_protected(int /*argc*/, char** argv) {
    // Returns only on failure: EPERM without CAP_SYS_ADMIN over the mount namespace
    // (rootless), ENOSYS before Linux 5.12. The copy is as safe, only slower.
    (void)exec_readonly_mount(argv);
    return exec_sealed_copy(argv);
}

}  // namespace berth::runtime::linux_
