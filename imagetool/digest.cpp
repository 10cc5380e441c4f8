// Digests through OpenSSL's EVP interface (hardware SHA extensions where the CPU has them).
#include "imagetool/digest.hpp"

#include <openssl/evp.h>

namespace berth::image {

struct Hasher::Ctx {
    EVP_MD_CTX* md = nullptr;
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(std::string_view algorithm) : alg_(algorithm), ctx_(std::make_unique<Ctx>()) {
    ctx_->md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_->md, alg_ == "sha512" ? EVP_sha512() : EVP_sha256(), nullptr);
    if (alg_ != "sha512") alg_ = "sha256";
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t n) {
    EVP_DigestUpdate(ctx_->md, data, n);
}

spec::Digest Hasher::finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_->md, out, &len);
    static const char* hex = "0123456789abcdef";
    std::string h;
    h.reserve(len * 2);
    for (unsigned i = 0; i < len; i++) {
        h.push_back(hex[out[i] >> 4]);
        h.push_back(hex[out[i] & 15]);
    }
    return spec::Digest{alg_, h};
}

spec::Digest sha256_of(std::string_view data) {
    Hasher h;
    h.update(data);
    return h.finish();
}

}  // namespace berth::image
