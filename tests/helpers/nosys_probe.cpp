// nosys_probe: calls a syscall number no kernel has yet (1000) and prints the errno it got, so a
// test can see what a seccomp profile answers for syscalls newer than itself. Linked static so it
// runs in a busybox rootfs.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    long nr = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1000;
    long rc = syscall(nr, 0, 0, 0);
    if (rc < 0)
        std::printf("syscall %ld: errno %d (%s)\n", nr, errno, std::strerror(errno));
    else
        std::printf("syscall %ld: returned %ld\n", nr, rc);
    return 0;
}
