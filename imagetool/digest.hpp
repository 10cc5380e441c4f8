// Streaming content digests (sha256, sha512) over OpenSSL EVP.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spec/image.hpp"

namespace berth::image {

class Hasher {
  public:
    // algorithm: "sha256" (default) or "sha512".
    explicit Hasher(std::string_view algorithm = "sha256");
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // The digest of everything fed so far; the hasher must not be updated afterwards.
    spec::Digest finish();
    const std::string& algorithm() const { return alg_; }

  private:
    std::string alg_;
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

spec::Digest sha256_of(std::string_view data);

}  // namespace berth::image
