// TAP output for the conformance checker: one assertion a line, each naming the spec section.
#pragma once

#include <cstdio>
#include <string>

namespace berth::conformance {

class Tap {
  public:
    // "ok 3 - process.cwd: '/' [config.md#process]" or "not ok 3 - ...: got X".
    void check(bool pass, const std::string& field, const std::string& ref,
               const std::string& detail = "") {
        ++n_;
        if (!pass) ++failed_;
        // The detail (what was seen) only helps when the check failed.
        bool show = !pass && !detail.empty();
        std::printf("%s %d - %s [%s]%s%s\n", pass ? "ok" : "not ok", n_, field.c_str(), ref.c_str(),
                    show ? ": got " : "", show ? detail.c_str() : "");
    }
    void skip(const std::string& field, const std::string& ref, const std::string& why) {
        ++n_;
        std::printf("ok %d - %s [%s] # SKIP %s\n", n_, field.c_str(), ref.c_str(), why.c_str());
    }
    // Observations the harness compares across runtimes ("# observe key=value").
    void observe(const std::string& key, std::string value) {
        for (auto& c : value)
            if (c == '\n') c = ';';
        std::printf("# observe %s=%s\n", key.c_str(), value.c_str());
    }
    void finish() {
        std::printf("1..%d\n", n_);
        std::fflush(stdout);
    }
    int failed() const { return failed_; }

  private:
    int n_ = 0;
    int failed_ = 0;
};

}  // namespace berth::conformance
