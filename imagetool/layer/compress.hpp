// Layer compression for the layers berth-image makes (commit): a push-style byte sink that
// compresses with ISA-L's igzip (gzip, when built with it; zlib otherwise) or libzstd, or
// passes the tar through, and hashes the uncompressed bytes on the way (the layer's DiffID).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/layer/sha256.hpp"

namespace berth::image::layer {

// Where compressed bytes go (a BlobWriter).
using ByteSink = std::function<Status(const void* data, size_t len)>;

class Compressor {
  public:
    virtual ~Compressor() = default;
    // Uncompressed tar bytes in.
    Status write(const void* data, size_t len);
    // Flushes the compressor's end of stream into the sink; returns the DiffID
    // ("sha256:<hex>" of everything given to write()).
    Result<std::string> finish();
    uint64_t uncompressed_size() const { return in_; }

  protected:
    explicit Compressor(ByteSink sink);
    virtual Status put(const void* data, size_t len) = 0;
    virtual Status end() = 0;
    ByteSink sink_;

  private:
    Sha256 hash_;
    uint64_t in_ = 0;
};

// "gzip", "zstd", "none" (and "" for gzip) -> Compression; an error naming the word otherwise.
Result<Compression> parse_compression(std::string_view word);
// The OCI layer media type for a compression.
const char* layer_media_type(Compression c);
std::unique_ptr<Compressor> make_compressor(Compression c, ByteSink sink);

}  // namespace berth::image::layer
