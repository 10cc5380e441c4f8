// read_ahead: the bytes come through unchanged and in order whatever the read sizes, a source
// error arrives after the bytes before it, and destroying the stream early does not hang.
#include "imagetool/layer/read_ahead.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace berth::image::layer {
namespace {

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = char((i * 131 + i / 977) & 0xff);
    return s;
}

std::string drain(Stream& s, size_t step) {
    std::string out, buf(step, '\0');
    for (;;) {
        auto r = s.read(buf.data(), buf.size());
        EXPECT_TRUE(r) << r.error().str();
        if (!r || *r == 0) return out;
        out.append(buf.data(), *r);
    }
}

// Gives out its bytes in odd-sized pieces, then fails (or ends).
class Piecewise : public Stream {
  public:
    Piecewise(std::string d, bool fail) : data_(std::move(d)), fail_(fail) {}
    Result<size_t> read(void* buf, size_t len) override {
        if (pos_ == data_.size()) {
            if (fail_) return Error(EIO, "source failed");
            return size_t(0);
        }
        size_t n = std::min({len, data_.size() - pos_, size_t(7777)});
        std::memcpy(buf, data_.data() + pos_, n);
        pos_ += n;
        return n;
    }

  private:
    std::string data_;
    bool fail_;
    size_t pos_ = 0;
};

TEST(ReadAhead, SameBytesWhateverTheReadSize) {
    std::string data = pattern(3 * 65536 + 12345);
    for (size_t step : {1u, 100u, 4096u, 65536u, 1u << 20}) {
        auto s = read_ahead(std::make_unique<Piecewise>(data, false), 65536, 2);
        EXPECT_EQ(drain(*s, step), data) << "step " << step;
        char c;
        auto r = s->read(&c, 1);  // stays at the end
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, 0u);
    }
}

TEST(ReadAhead, EmptySource) {
    auto s = read_ahead(std::make_unique<Piecewise>("", false), 4096, 2);
    EXPECT_EQ(drain(*s, 100), "");
}

TEST(ReadAhead, ErrorAfterTheBytesBeforeIt) {
    std::string data = pattern(200000);
    auto s = read_ahead(std::make_unique<Piecewise>(data, true), 65536, 3);
    std::string got, buf(5000, '\0');
    Error err;
    bool failed = false;
    for (;;) {
        auto r = s->read(buf.data(), buf.size());
        if (!r) {
            err = r.error();
            failed = true;
            break;
        }
        ASSERT_NE(*r, 0u) << "end of stream instead of the error";
        got.append(buf.data(), *r);
    }
    EXPECT_TRUE(failed);
    EXPECT_EQ(got, data);
    EXPECT_EQ(err.code(), EIO);
    EXPECT_EQ(err.message(), "source failed");
}

TEST(ReadAhead, DestroyedBeforeTheEnd) {
    std::string data = pattern(10u << 20);
    auto s = read_ahead(std::make_unique<Piecewise>(data, false), 65536, 2);
    char buf[100];
    ASSERT_TRUE(s->read(buf, sizeof buf));
    s.reset();  // the producer is blocked on a full queue: must stop, not hang
    SUCCEED();
}

}  // namespace
}  // namespace berth::image::layer
