// Sealed memfd re-exec (CVE-2019-5736).
#include "runtime/linux/cloned_binary.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/unique_fd.hpp"

extern char** environ;

namespace berth::runtime::linux_ {

namespace {
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
}  // namespace

bool running_sealed() {
    UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    int seals = ::fcntl(fd.get(), F_GET_SEALS);
    return seals >= 0 && (seals & kSeals) == kSeals;
}

Status reexec_sealed(int /*argc*/, char** argv) {
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

}  // namespace berth::runtime::linux_
