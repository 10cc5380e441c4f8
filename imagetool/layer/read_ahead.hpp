// A stream that reads its source ahead on a second thread, so that decompressing and hashing a
// layer overlaps with creating its files (the floor `gzip -dc | tar -x` is two processes too).
#pragma once

#include <cstddef>
#include <memory>

#include "imagetool/layer/decompress.hpp"

namespace berth::image::layer {

// Reads `src` on a thread into at most `depth` buffers of `chunk` bytes (memory stays at
// depth * chunk whatever the layer size). Errors from the source are returned by read() in
// order, after the bytes that came before them. Destroying the stream stops the thread.
// $BERTH_IMAGE_READAHEAD=0 returns `src` unchanged (for measuring what this buys).
std::unique_ptr<Stream> read_ahead(std::unique_ptr<Stream> src, size_t chunk = 1u << 20,
                                   size_t depth = 2);

}  // namespace berth::image::layer
