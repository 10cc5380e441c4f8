// Locating and loading tests/fixtures for the spec unit tests.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/file.hpp"

namespace berth::testing {

// BERTH_SRC (compiled in by tests/meson.build, or from the environment), else the nearest
// parent of the test binary that has tests/fixtures.
inline std::string fixtures_dir() {
#ifdef BERTH_SRC
    return std::string(BERTH_SRC) + "/tests/fixtures";
#endif
    if (const char* src = std::getenv("BERTH_SRC")) return std::string(src) + "/tests/fixtures";
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    std::string dir = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(".");
    while (!dir.empty()) {
        auto slash = dir.rfind('/');
        if (slash == std::string::npos) break;
        dir.resize(slash);
        if (path_exists(dir + "/tests/fixtures/configs")) return dir + "/tests/fixtures";
    }
    return "tests/fixtures";
}

inline std::string fixture(const std::string& rel) {
    auto text = read_file(fixtures_dir() + "/" + rel);
    return text.ok() ? text.value() : std::string();
}

}  // namespace berth::testing
