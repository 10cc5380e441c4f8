// libFuzzer target: a layer blob (compressed as its bytes say, as for Docker media types) read
// and applied onto an empty directory. Besides not crashing, nothing may appear outside that
// directory: a sibling file must keep its content and the parent must hold only the two.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "imagetool/layer/apply.hpp"
#include "imagetool/layer/decompress.hpp"

namespace {

std::string g_parent;

void check_outside() {
    char buf[16] = {};
    int fd = ::open((g_parent + "/sentinel").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || ::read(fd, buf, sizeof buf) != 7 || std::string_view(buf, 7) != "outside") {
        std::fprintf(stderr, "fuzz_layer: the sentinel next to the root changed\n");
        __builtin_trap();
    }
    ::close(fd);
    DIR* d = ::opendir(g_parent.c_str());
    int n = 0;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        if (name != "root" && name != "sentinel") {
            std::fprintf(stderr, "fuzz_layer: '%s' appeared next to the root\n", e->d_name);
            __builtin_trap();
        }
        ++n;
    }
    ::closedir(d);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char tmpl[] = "/tmp/berth-fuzz-layer.XXXXXX";
    if (!::mkdtemp(tmpl)) __builtin_trap();
    g_parent = tmpl;
    int fd = ::open((g_parent + "/sentinel").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, "outside", 7) != 7) __builtin_trap();
    ::close(fd);
    std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(g_parent, ec);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace layer = berth::image::layer;
    std::string root = g_parent + "/root";
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    if (::mkdir(root.c_str(), 0755) < 0) __builtin_trap();
    int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    layer::ApplyOptions opts;
    opts.chown = false;
    opts.mknod = false;
    opts.limits.max_expanded = 16u << 20;
    opts.limits.max_entries = 10000;
    auto src = layer::memory_stream(std::string_view(reinterpret_cast<const char*>(data), size));
    auto tar = layer::open_layer_stream(std::move(src),
                                        "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                        opts.limits.max_expanded);
    if (tar) (void)layer::apply_tar(root_fd, **tar, opts);
    ::close(root_fd);
    check_outside();
    return 0;
}
