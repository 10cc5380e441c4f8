// Layer decompression: a pull-style byte stream over a file descriptor, decompressed with
// ISA-L's igzip (gzip) or libzstd (zstd), chosen by media type or by the stream's magic bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/result.hpp"

namespace berth::image::layer {

enum class Compression { none, gzip, zstd };

const char* compression_name(Compression c);

// A source of bytes: read() returns 0 at end of stream.
class Stream {
  public:
    virtual ~Stream() = default;
    virtual Result<size_t> read(void* buf, size_t len) = 0;
};

// Reads a file descriptor (not owned) in large chunks.
std::unique_ptr<Stream> fd_stream(int fd);
// Reads an in-memory buffer (not owned; tests and small blobs).
std::unique_ptr<Stream> memory_stream(std::string_view data);

// What a layer media type says: OCI tar/tar+gzip/tar+zstd (and the nondistributable
// variants) name their compression; Docker's types do not reliably, so the bytes decide.
struct MediaTypeInfo {
    bool known = false;  // an OCI/Docker layer type we recognise
    bool sniff = false;  // the type does not say (Docker's): look at the bytes
    Compression compression = Compression::none;
};
MediaTypeInfo classify_media_type(std::string_view media_type);

// Compression named by the first bytes of a stream: 1f 8b (gzip), 28 b5 2f fd (zstd), else none.
Compression sniff_compression(const unsigned char* head, size_t len);

// Wraps `src` with a decompressor. `max_output` caps the bytes produced (decompression bombs):
// past it read() fails with EFBIG. Zero means no cap.
Result<std::unique_ptr<Stream>> decompress(std::unique_ptr<Stream> src, Compression c,
                                           uint64_t max_output);

// Opens a layer blob: classifies the media type, sniffs when the type does not say, returns the
// uncompressed tar stream. An unknown media type is an error naming it.
Result<std::unique_ptr<Stream>> open_layer_stream(int fd, std::string_view media_type,
                                                  uint64_t max_output);
Result<std::unique_ptr<Stream>> open_layer_stream(std::unique_ptr<Stream> src,
                                                  std::string_view media_type, uint64_t max_output);

}  // namespace berth::image::layer
