// A stored blob as the input of a decompressor (layer::Stream), verified as it is read.
#pragma once

#include <utility>

#include "imagetool/layer/decompress.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image {

class BlobStream : public layer::Stream {
  public:
    explicit BlobStream(BlobReader r) : r_(std::move(r)) {}
    Result<size_t> read(void* buf, size_t len) override { return r_.read(buf, len); }
    // The reader underneath, e.g. to verify the rest of the blob after the decompressor
    // stopped at the end of its own stream.
    BlobReader& reader() { return r_; }

  private:
    BlobReader r_;
};

}  // namespace berth::image
