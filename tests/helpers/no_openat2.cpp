// no_openat2 ERRNO COMMAND [ARG...]: runs COMMAND with openat2(2) answering ERRNO (ENOSYS as
// on kernels before 5.6, EPERM or EINVAL as some seccomp profiles answer), so the in-root walk
// that replaces it is exercised by whole test suites, as crun's tests/no_openat2.c does. The
// filter is inherited by every process COMMAND starts.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "add this architecture's AUDIT_ARCH"
#endif

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: no_openat2 ENOSYS|EPERM|EINVAL COMMAND [ARG...]\n");
        return 2;
    }
    int err = !std::strcmp(argv[1], "ENOSYS")   ? ENOSYS
              : !std::strcmp(argv[1], "EPERM")  ? EPERM
              : !std::strcmp(argv[1], "EINVAL") ? EINVAL
                                                : 0;
    if (!err) {
        std::fprintf(stderr, "no_openat2: unknown errno '%s'\n", argv[1]);
        return 2;
    }
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned(err) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        std::perror("no_openat2: seccomp");
        return 1;
    }
    execvp(argv[2], argv + 2);
    std::perror("no_openat2: exec");
    return 127;
}
