// Read-ahead stream: one producer thread, a bounded queue of filled buffers, one consumer.
#include "imagetool/layer/read_ahead.hpp"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth::image::layer {
namespace {

class ReadAheadStream : public Stream {
  public:
    ReadAheadStream(std::unique_ptr<Stream> src, size_t chunk, size_t depth)
        : src_(std::move(src)), chunk_(chunk), depth_(depth) {
        thread_ = std::thread([this] { produce(); });
    }

    ~ReadAheadStream() override {
        {
            std::lock_guard<std::mutex> g(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

    Result<size_t> read(void* buf, size_t len) override {
        if (len == 0) return size_t(0);
        if (pos_ == cur_.size()) {
            std::unique_lock<std::mutex> g(mu_);
            cv_.wait(g, [&] { return !full_.empty() || done_; });
            if (full_.empty()) {
                if (err_) return *err_;
                return size_t(0);
            }
            // The drained buffer goes back for reuse; no allocation per chunk.
            if (cur_.capacity()) free_.push_back(std::move(cur_));
            cur_ = std::move(full_.front());
            full_.pop_front();
            pos_ = 0;
            g.unlock();
            cv_.notify_all();
        }
        size_t n = std::min(len, cur_.size() - pos_);
        std::memcpy(buf, cur_.data() + pos_, n);
        pos_ += n;
        return n;
    }

  private:
    void produce() {
        for (;;) {
            std::vector<char> b;
            {
                std::unique_lock<std::mutex> g(mu_);
                cv_.wait(g, [&] { return stop_ || full_.size() < depth_; });
                if (stop_) return;
                if (!free_.empty()) {
                    b = std::move(free_.back());
                    free_.pop_back();
                }
            }
            b.resize(chunk_);
            size_t have = 0;
            std::optional<Error> err;
            // Fill the whole chunk (decompressors return less than asked) so the consumer
            // wakes up once per chunk, not once per small read.
            while (have < chunk_) {
                auto r = src_->read(b.data() + have, chunk_ - have);
                if (!r) {
                    err = r.error();
                    break;
                }
                if (*r == 0) break;
                have += *r;
            }
            bool end = err || have < chunk_;
            b.resize(have);
            {
                std::lock_guard<std::mutex> g(mu_);
                if (have) full_.push_back(std::move(b));
                if (end) {
                    err_ = std::move(err);
                    done_ = true;
                }
            }
            cv_.notify_all();
            if (end) return;
        }
    }

    std::unique_ptr<Stream> src_;
    size_t chunk_, depth_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::vector<char>> full_;
    std::vector<std::vector<char>> free_;
    std::optional<Error> err_;
    bool done_ = false;
    bool stop_ = false;
    // Consumer side only.
    std::vector<char> cur_;
    size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Stream> read_ahead(std::unique_ptr<Stream> src, size_t chunk, size_t depth) {
    if (const char* e = std::getenv("BERTH_IMAGE_READAHEAD"); e && std::string(e) == "0")
        return src;
    return std::make_unique<ReadAheadStream>(std::move(src), chunk, std::max<size_t>(depth, 1));
}

}  // namespace berth::image::layer
