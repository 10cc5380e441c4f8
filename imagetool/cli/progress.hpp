// Pull and push progress: per-blob bars redrawn in place on a terminal (docker pull's and
// push's look), one line per finished blob when stderr is not a terminal, nothing with
// --quiet.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "imagetool/registry/pull.hpp"
#include "imagetool/registry/push.hpp"

namespace berth::image::cli {

class ProgressDisplay : public PullObserver, public PushObserver {
  public:
    // verb: what a blob in flight is doing ("Downloading", "Pushing").
    explicit ProgressDisplay(FILE* out, std::string verb = "Downloading");
    void start(const std::vector<spec::Descriptor>& blobs) override;
    void progress(size_t i, int64_t bytes) override;
    void done(size_t i, bool existed) override;
    void done(size_t i, BlobOutcome how) override;
    void finish();

  private:
    struct Row {
        std::string id;
        int64_t total = 0, bytes = 0;
        std::string state = "Waiting";
        std::chrono::steady_clock::time_point started;
        bool begun = false;
    };
    void finished(size_t i, const char* state);
    void redraw(bool force);
    std::string line(const Row& r) const;
    FILE* out_;
    std::string verb_;
    bool tty_;
    std::mutex mu_;
    std::vector<Row> rows_;
    size_t drawn_ = 0;
    std::chrono::steady_clock::time_point last_draw_;
};

std::string human_size(int64_t bytes);

}  // namespace berth::image::cli
