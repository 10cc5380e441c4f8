// Pull progress display.
#include "imagetool/cli/progress.hpp"

#include <unistd.h>

namespace berth::image::cli {

std::string human_size(int64_t b) {
    char buf[32];
    if (b < 1000) {
        std::snprintf(buf, sizeof buf, "%lldB", (long long)b);
    } else if (b < 1000 * 1000) {
        std::snprintf(buf, sizeof buf, "%.1fkB", double(b) / 1e3);
    } else if (b < 1000LL * 1000 * 1000) {
        std::snprintf(buf, sizeof buf, "%.1fMB", double(b) / 1e6);
    } else {
        std::snprintf(buf, sizeof buf, "%.2fGB", double(b) / 1e9);
    }
    return buf;
}

ProgressDisplay::ProgressDisplay(FILE* out, std::string verb)
    : out_(out), verb_(std::move(verb)), tty_(::isatty(::fileno(out)) == 1) {}

void ProgressDisplay::start(const std::vector<spec::Descriptor>& blobs) {
    std::lock_guard<std::mutex> g(mu_);
    for (const auto& b : blobs) {
        Row r;
        r.id = b.digest.hex.substr(0, 12);
        r.total = b.size;
        rows_.push_back(r);
    }
    redraw(true);
}

void ProgressDisplay::progress(size_t i, int64_t bytes) {
    std::lock_guard<std::mutex> g(mu_);
    if (i >= rows_.size()) return;
    Row& r = rows_[i];
    if (!r.begun) {
        r.begun = true;
        r.started = std::chrono::steady_clock::now();
        r.state = verb_;
    }
    r.bytes = bytes;
    redraw(false);
}

void ProgressDisplay::done(size_t i, bool existed) {
    finished(i, existed ? "Already exists" : "Pull complete");
}

void ProgressDisplay::done(size_t i, BlobOutcome how) {
    finished(i, how == BlobOutcome::existed   ? "Layer already exists"
                : how == BlobOutcome::mounted ? "Mounted"
                                              : "Pushed");
}

void ProgressDisplay::finished(size_t i, const char* state) {
    std::lock_guard<std::mutex> g(mu_);
    if (i >= rows_.size()) return;
    Row& r = rows_[i];
    r.state = state;
    r.bytes = r.total;
    if (!tty_)
        std::fprintf(out_, "%s: %s (%s)\n", r.id.c_str(), r.state.c_str(),
                     human_size(r.total).c_str());
    redraw(true);
}

void ProgressDisplay::finish() {
    std::lock_guard<std::mutex> g(mu_);
    redraw(true);
}

std::string ProgressDisplay::line(const Row& r) const {
    std::string s = r.id + ": " + r.state;
    if (r.state == verb_ && r.total > 0) {
        constexpr int width = 40;
        int filled = int(double(r.bytes) / double(r.total) * width);
        std::string bar(size_t(width), ' ');
        for (int k = 0; k < filled && k < width; k++)
            bar[size_t(k)] = '=';
        if (filled < width) bar[size_t(filled)] = '>';
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - r.started).count();
        std::string rate = secs > 0.05 ? human_size(int64_t(double(r.bytes) / secs)) + "/s" : "";
        s += " [" + bar + "] " + human_size(r.bytes) + "/" + human_size(r.total) + " " + rate;
    }
    return s;
}

void ProgressDisplay::redraw(bool force) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (drawn_ > 0) std::fprintf(out_, "\033[%zuA", drawn_);
    for (const auto& r : rows_)
        std::fprintf(out_, "\r\033[2K%s\n", line(r).c_str());
    drawn_ = rows_.size();
    std::fflush(out_);
}

}  // namespace berth::image::cli
