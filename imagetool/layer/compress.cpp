// Compressors behind one interface. gzip uses igzip level 1 where ISA-L is there: several
// times zlib's speed for a slightly larger layer, the trade a commit in a build loop wants
// (the layer is compressed once and pushed rarely); zlib's default level otherwise.
#include "imagetool/layer/compress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <vector>

#ifdef BERTH_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

namespace berth::image::layer {

Compressor::Compressor(ByteSink sink) : sink_(std::move(sink)) {}

Status Compressor::write(const void* data, size_t len) {
    hash_.update(data, len);
    in_ += len;
    return put(data, len);
}

Result<std::string> Compressor::finish() {
    TRY(end());
    return hash_.digest();
}

namespace {

constexpr size_t kOut = 1u << 20;

class Plain : public Compressor {
  public:
    explicit Plain(ByteSink sink) : Compressor(std::move(sink)) {}
    Status put(const void* data, size_t len) override { return sink_(data, len); }
    Status end() override { return ok(); }
};

#ifdef BERTH_HAVE_ISAL
class Gzip : public Compressor {
  public:
    explicit Gzip(ByteSink sink)
        : Compressor(std::move(sink)), level_buf_(ISAL_DEF_LVL1_DEFAULT), out_(kOut) {
        isal_deflate_init(&z_);
        z_.gzip_flag = IGZIP_GZIP;
        z_.level = 1;
        z_.level_buf = level_buf_.data();
        z_.level_buf_size = uint32_t(level_buf_.size());
        z_.flush = NO_FLUSH;
    }
    Status put(const void* data, size_t len) override {
        auto* p = static_cast<const uint8_t*>(data);
        // avail_in is 32 bits.
        while (len > 0) {
            size_t n = std::min<size_t>(len, 1u << 30);
            z_.next_in = const_cast<uint8_t*>(p);
            z_.avail_in = uint32_t(n);
            TRY(pump(false));
            p += n;
            len -= n;
        }
        return ok();
    }
    Status end() override {
        z_.next_in = nullptr;
        z_.avail_in = 0;
        z_.end_of_stream = 1;
        return pump(true);
    }

  private:
    Status pump(bool last) {
        for (;;) {
            z_.next_out = out_.data();
            z_.avail_out = uint32_t(out_.size());
            int rc = isal_deflate(&z_);
            if (rc != COMP_OK) return error("gzip: igzip error " + std::to_string(rc));
            size_t n = out_.size() - z_.avail_out;
            if (n) TRY(sink_(out_.data(), n));
            if (last ? z_.internal_state.state == ZSTATE_END : z_.avail_in == 0) return ok();
        }
    }
    isal_zstream z_{};
    std::vector<uint8_t> level_buf_;
    std::vector<uint8_t> out_;
};
#else
class Gzip : public Compressor {
  public:
    explicit Gzip(ByteSink sink) : Compressor(std::move(sink)), out_(kOut) {
        ok_ = deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                           Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~Gzip() override { deflateEnd(&z_); }
    Status put(const void* data, size_t len) override {
        z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        z_.avail_in = uInt(len);
        return pump(Z_NO_FLUSH);
    }
    Status end() override {
        z_.next_in = nullptr;
        z_.avail_in = 0;
        return pump(Z_FINISH);
    }

  private:
    Status pump(int flush) {
        if (!ok_) return error("gzip: deflateInit failed");
        for (;;) {
            z_.next_out = out_.data();
            z_.avail_out = uInt(out_.size());
            int rc = deflate(&z_, flush);
            if (rc == Z_STREAM_ERROR) return error("gzip: deflate failed");
            size_t n = out_.size() - z_.avail_out;
            if (n) TRY(sink_(out_.data(), n));
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0) return ok();
        }
    }
    z_stream z_{};
    bool ok_ = false;
    std::vector<Bytef> out_;
};
#endif

class Zstd : public Compressor {
  public:
    explicit Zstd(ByteSink sink)
        : Compressor(std::move(sink)), c_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
        if (c_) ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, 3);
    }
    ~Zstd() override { ZSTD_freeCCtx(c_); }
    Status put(const void* data, size_t len) override {
        ZSTD_inBuffer in{data, len, 0};
        while (in.pos < in.size)
            TRY(step(in, ZSTD_e_continue));
        return ok();
    }
    Status end() override {
        ZSTD_inBuffer in{nullptr, 0, 0};
        for (;;) {
            size_t left = TRY(step(in, ZSTD_e_end));
            if (left == 0) return ok();
        }
    }

  private:
    Result<size_t> step(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
        if (!c_) return error("zstd: cannot create a compression context");
        ZSTD_outBuffer out{out_.data(), out_.size(), 0};
        size_t rc = ZSTD_compressStream2(c_, &out, &in, mode);
        if (ZSTD_isError(rc)) return error(std::string("zstd: ") + ZSTD_getErrorName(rc));
        if (out.pos) TRY(sink_(out_.data(), out.pos));
        return rc;
    }
    ZSTD_CCtx* c_;
    std::vector<char> out_;
};

}  // namespace

Result<Compression> parse_compression(std::string_view word) {
    if (word.empty() || word == "gzip") return Compression::gzip;
    if (word == "zstd") return Compression::zstd;
    if (word == "none") return Compression::none;
    return error("unknown compression '" + std::string(word) + "' (gzip, zstd or none)");
}

const char* layer_media_type(Compression c) {
    switch (c) {
        case Compression::gzip:
            return "application/vnd.oci.image.layer.v1.tar+gzip";
        case Compression::zstd:
            return "application/vnd.oci.image.layer.v1.tar+zstd";
        case Compression::none:
            break;
    }
    return "application/vnd.oci.image.layer.v1.tar";
}

std::unique_ptr<Compressor> make_compressor(Compression c, ByteSink sink) {
    switch (c) {
        case Compression::gzip:
            return std::make_unique<Gzip>(std::move(sink));
        case Compression::zstd:
            return std::make_unique<Zstd>(std::move(sink));
        case Compression::none:
            break;
    }
    return std::make_unique<Plain>(std::move(sink));
}

}  // namespace berth::image::layer
