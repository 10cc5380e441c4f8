// SHA-256 strings for DiffIDs and chain ids, on the one OpenSSL wrapper (imagetool/digest.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "imagetool/digest.hpp"

namespace berth::image::layer {

// A SHA-256 hasher whose result is the "sha256:<hex>" text layers and configs use.
class Sha256 {
  public:
    void update(const void* data, size_t len) { h_.update(data, len); }
    // "sha256:<hex>"; the hasher cannot be updated afterwards.
    std::string digest() { return h_.finish().str(); }

  private:
    Hasher h_;
};

inline std::string sha256_digest(std::string_view data) {
    return sha256_of(data).str();
}

// The chain id of a layer on top of `parent_chain` (empty for the first layer), per image-spec
// config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = SHA256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::string chain_id(const std::string& parent_chain, const std::string& diff_id);

}  // namespace berth::image::layer
