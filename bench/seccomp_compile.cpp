// Bench: how long compile() takes for a profile (default: Docker-sized fixture), cold and cached.
// Usage: seccomp_compile [profile.json] [iterations]
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/file.hpp"
#include "runtime/linux/seccomp.hpp"
#include "tests/fixtures/seccomp/seccomp_json.hpp"

namespace {
double now_us() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
}

void report(const char* what, std::vector<double>& t) {
    std::sort(t.begin(), t.end());
    double sum = 0;
    for (double x : t)
        sum += x;
    std::printf("%-22s n=%zu  min %8.1f us  median %8.1f us  mean %8.1f us\n", what, t.size(),
                t.front(), t[t.size() / 2], sum / double(t.size()));
}
}  // namespace

int main(int argc, char** argv) {
    std::string path = argc > 1 ? argv[1] : BERTH_SRC "/tests/fixtures/seccomp/docker-default.json";
    int n = argc > 2 ? std::atoi(argv[2]) : 50;
    berth::spec::Seccomp profile;
    try {
        profile = berth::testing::seccomp_from_file(path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
        return 1;
    }
    size_t names = 0;
    for (const auto& s : profile.syscalls)
        names += s.names.size();
    std::printf("profile %s: %zu rules, %zu syscall names\n", path.c_str(), profile.syscalls.size(),
                names);

    std::vector<double> cold, cached;
    size_t insns = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        auto f = berth::seccomp::compile(profile);
        cold.push_back(now_us() - t0);
        if (!f) {
            std::fprintf(stderr, "compile: %s\n", f.error().str().c_str());
            return 1;
        }
        insns = f->program.size();
    }
    std::printf("BPF program: %zu instructions\n", insns);
    report("compile", cold);

    char tmpl[] = "/tmp/berth-seccomp-bench.XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    std::string dir = tmpl;
    for (int i = 0; i < n + 1; i++) {
        double t0 = now_us();
        auto f = berth::seccomp::compile_cached(profile, dir);
        double dt = now_us() - t0;
        if (!f) {
            std::fprintf(stderr, "compile_cached: %s\n", f.error().str().c_str());
            return 1;
        }
        if (i > 0) cached.push_back(dt);  // the first call fills the cache
    }
    report("compile_cached (hit)", cached);
    (void)berth::remove_all(dir);
    return 0;
}
