// Streaming decompressors for layer blobs. gzip goes through ISA-L's igzip when the build has it
// (about 2-3x zlib's speed, see docs/layers.md), else zlib; zstd through libzstd's streaming API.
#include "imagetool/layer/decompress.hpp"

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <zstd.h>
#ifdef BERTH_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

namespace berth::image::layer {
namespace {

constexpr size_t kInBuf = 1u << 20;

class FdStream : public Stream {
  public:
    explicit FdStream(int fd) : fd_(fd) {}
    Result<size_t> read(void* buf, size_t len) override {
        for (;;) {
            ssize_t n = ::read(fd_, buf, len);
            if (n >= 0) return size_t(n);
            if (errno != EINTR) return sys_error("read layer");
        }
    }

  private:
    int fd_;
};

class MemoryStream : public Stream {
  public:
    explicit MemoryStream(std::string_view d) : data_(d) {}
    Result<size_t> read(void* buf, size_t len) override {
        size_t n = std::min(len, data_.size() - pos_);
        std::memcpy(buf, data_.data() + pos_, n);
        pos_ += n;
        return n;
    }

  private:
    std::string_view data_;
    size_t pos_ = 0;
};

// Replays the bytes read for sniffing, then continues with the source.
class PeekStream : public Stream {
  public:
    PeekStream(std::unique_ptr<Stream> src, std::string head)
        : src_(std::move(src)), head_(std::move(head)) {}
    Result<size_t> read(void* buf, size_t len) override {
        if (pos_ < head_.size()) {
            size_t n = std::min(len, head_.size() - pos_);
            std::memcpy(buf, head_.data() + pos_, n);
            pos_ += n;
            return n;
        }
        return src_->read(buf, len);
    }

  private:
    std::unique_ptr<Stream> src_;
    std::string head_;
    size_t pos_ = 0;
};

// Common input buffering and the output cap shared by both decompressors.
class Decompressor : public Stream {
  public:
    Decompressor(std::unique_ptr<Stream> src, uint64_t max_output)
        : src_(std::move(src)), in_(kInBuf), max_(max_output) {}

  protected:
    // Refills the input buffer when empty; false at end of input.
    Result<bool> fill() {
        if (in_pos_ < in_len_) return true;
        in_len_ = TRY(src_->read(in_.data(), in_.size()));
        in_pos_ = 0;
        return in_len_ > 0;
    }
    Status count(size_t n) {
        produced_ += n;
        if (max_ && produced_ > max_)
            return Error::sys(EFBIG, "layer expands past the limit of " + std::to_string(max_) +
                                         " bytes (decompression bomb?)");
        return ok();
    }

    std::unique_ptr<Stream> src_;
    std::vector<unsigned char> in_;
    size_t in_pos_ = 0, in_len_ = 0;
    uint64_t max_;
    uint64_t produced_ = 0;
};

#ifdef BERTH_HAVE_ISAL
class GzipStream : public Decompressor {
  public:
    using Decompressor::Decompressor;
    Result<size_t> read(void* buf, size_t len) override {
        if (done_ || len == 0) return size_t(0);
        if (len > UINT32_MAX) len = UINT32_MAX;
        for (;;) {
            if (state_.block_state == ISAL_BLOCK_FINISH) {
                // End of one gzip member: a concatenated member may follow (pigz, multi-member).
                bool more = TRY(fill());
                if (!more) {
                    done_ = true;
                    return size_t(0);
                }
                if (in_[in_pos_] != 0x1f) return error("gzip: trailing garbage after the stream");
                reset();
            }
            bool more = TRY(fill());
            state_.next_in = in_.data() + in_pos_;
            state_.avail_in = uint32_t(in_len_ - in_pos_);
            state_.next_out = static_cast<uint8_t*>(buf);
            state_.avail_out = uint32_t(len);
            int rc = isal_inflate(&state_);
            in_pos_ = in_len_ - state_.avail_in;
            if (rc < 0)
                return error("gzip: corrupt stream (igzip error " + std::to_string(rc) + ")");
            size_t n = len - state_.avail_out;
            if (n > 0) {
                TRY(count(n));
                return n;
            }
            if (state_.block_state == ISAL_BLOCK_FINISH) continue;
            if (!more) return error("gzip: unexpected end of stream");
        }
    }
    void reset() {
        isal_inflate_init(&state_);
        state_.crc_flag = ISAL_GZIP;
    }
    GzipStream(std::unique_ptr<Stream> src, uint64_t max) : Decompressor(std::move(src), max) {
        reset();
    }

  private:
    inflate_state state_{};
    bool done_ = false;
};
#else
class GzipStream : public Decompressor {
  public:
    GzipStream(std::unique_ptr<Stream> src, uint64_t max) : Decompressor(std::move(src), max) {
        std::memset(&z_, 0, sizeof z_);
        ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
    }
    ~GzipStream() override { inflateEnd(&z_); }
    Result<size_t> read(void* buf, size_t len) override {
        if (!ok_) return error("gzip: cannot initialise zlib");
        if (done_ || len == 0) return size_t(0);
        if (len > UINT32_MAX) len = UINT32_MAX;
        for (;;) {
            if (finished_) {
                bool more = TRY(fill());
                if (!more) {
                    done_ = true;
                    return size_t(0);
                }
                if (in_[in_pos_] != 0x1f) return error("gzip: trailing garbage after the stream");
                inflateReset(&z_);
                finished_ = false;
            }
            bool more = TRY(fill());
            z_.next_in = in_.data() + in_pos_;
            z_.avail_in = uInt(in_len_ - in_pos_);
            z_.next_out = static_cast<Bytef*>(buf);
            z_.avail_out = uInt(len);
            int rc = inflate(&z_, Z_NO_FLUSH);
            in_pos_ = in_len_ - z_.avail_in;
            if (rc == Z_STREAM_END)
                finished_ = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
                return error(std::string("gzip: corrupt stream: ") + (z_.msg ? z_.msg : "?"));
            size_t n = len - z_.avail_out;
            if (n > 0) {
                TRY(count(n));
                return n;
            }
            if (finished_) continue;
            if (!more) return error("gzip: unexpected end of stream");
        }
    }

  private:
    z_stream z_;
    bool ok_ = false, finished_ = false, done_ = false;
};
#endif

class ZstdStream : public Decompressor {
  public:
    ZstdStream(std::unique_ptr<Stream> src, uint64_t max) : Decompressor(std::move(src), max) {
        ctx_ = ZSTD_createDCtx();
    }
    ~ZstdStream() override { ZSTD_freeDCtx(ctx_); }
    Result<size_t> read(void* buf, size_t len) override {
        if (!ctx_) return error("zstd: cannot allocate a context");
        if (len == 0) return size_t(0);
        for (;;) {
            bool more = TRY(fill());
            if (!more && last_ == 0) return size_t(0);
            ZSTD_inBuffer in{in_.data(), in_len_, in_pos_};
            ZSTD_outBuffer out{buf, len, 0};
            size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
            in_pos_ = in.pos;
            if (ZSTD_isError(rc))
                return error(std::string("zstd: corrupt stream: ") + ZSTD_getErrorName(rc));
            last_ = rc;
            if (out.pos > 0) {
                TRY(count(out.pos));
                return out.pos;
            }
            // Input exhausted with a frame left unfinished: a truncated layer.
            if (!more) return error("zstd: unexpected end of stream");
        }
    }

  private:
    ZSTD_DCtx* ctx_ = nullptr;
    size_t last_ = 0;
};

class CappedStream : public Decompressor {
  public:
    using Decompressor::Decompressor;
    Result<size_t> read(void* buf, size_t len) override {
        size_t n = TRY(src_->read(buf, len));
        TRY(count(n));
        return n;
    }
};

}  // namespace

const char* compression_name(Compression c) {
    switch (c) {
        case Compression::gzip:
            return "gzip";
        case Compression::zstd:
            return "zstd";
        case Compression::none:
            break;
    }
    return "none";
}

std::unique_ptr<Stream> fd_stream(int fd) {
    return std::make_unique<FdStream>(fd);
}
std::unique_ptr<Stream> memory_stream(std::string_view data) {
    return std::make_unique<MemoryStream>(data);
}

MediaTypeInfo classify_media_type(std::string_view mt) {
    auto strip = [](std::string_view s, std::string_view prefix) {
        return s.substr(0, prefix.size()) == prefix ? s.substr(prefix.size()) : std::string_view{};
    };
    for (std::string_view p : {"application/vnd.oci.image.layer.v1.",
                               "application/vnd.oci.image.layer.nondistributable.v1."}) {
        std::string_view rest = strip(mt, p);
        if (rest == "tar") return {true, false, Compression::none};
        if (rest == "tar+gzip") return {true, false, Compression::gzip};
        if (rest == "tar+zstd") return {true, false, Compression::zstd};
    }
    // Docker's types say "gzip" but registries and tools have shipped plain and zstd tars
    // under them: the bytes decide.
    if (mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
        mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" ||
        mt == "application/vnd.docker.image.rootfs.diff.tar" || mt.empty())
        return {true, true, Compression::none};
    return {};
}

Compression sniff_compression(const unsigned char* h, size_t n) {
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return Compression::gzip;
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
        return Compression::zstd;
    return Compression::none;
}

Result<std::unique_ptr<Stream>> decompress(std::unique_ptr<Stream> src, Compression c,
                                           uint64_t max_output) {
    switch (c) {
        case Compression::gzip:
            return std::unique_ptr<Stream>(
                std::make_unique<GzipStream>(std::move(src), max_output));
        case Compression::zstd:
            return std::unique_ptr<Stream>(
                std::make_unique<ZstdStream>(std::move(src), max_output));
        case Compression::none:
            break;
    }
    return std::unique_ptr<Stream>(std::make_unique<CappedStream>(std::move(src), max_output));
}

Result<std::unique_ptr<Stream>> open_layer_stream(std::unique_ptr<Stream> src,
                                                  std::string_view media_type,
                                                  uint64_t max_output) {
    MediaTypeInfo info = classify_media_type(media_type);
    if (!info.known) return error("unsupported layer media type '" + std::string(media_type) + "'");
    Compression c = info.compression;
    if (info.sniff) {
        std::string head(4, '\0');
        size_t got = 0;
        while (got < head.size()) {
            size_t n = TRY(src->read(head.data() + got, head.size() - got));
            if (n == 0) break;
            got += n;
        }
        head.resize(got);
        c = sniff_compression(reinterpret_cast<const unsigned char*>(head.data()), got);
        src = std::make_unique<PeekStream>(std::move(src), std::move(head));
    }
    return decompress(std::move(src), c, max_output);
}

Result<std::unique_ptr<Stream>> open_layer_stream(int fd, std::string_view media_type,
                                                  uint64_t max_output) {
    return open_layer_stream(fd_stream(fd), media_type, max_output);
}

}  // namespace berth::image::layer
