// SHA-256 over a stream (OpenSSL EVP), for DiffIDs and chain ids.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace berth::image::layer {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t len);
    // "sha256:<hex>"; the hasher cannot be updated afterwards.
    std::string digest();

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

std::string sha256_digest(std::string_view data);

// The chain id of a layer on top of `parent_chain` (empty for the first layer), per image-spec
// config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = SHA256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::string chain_id(const std::string& parent_chain, const std::string& diff_id);

}  // namespace berth::image::layer
