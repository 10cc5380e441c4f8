// SHA-256 through OpenSSL's EVP interface.
#include "imagetool/layer/sha256.hpp"

#include <openssl/evp.h>

namespace berth::image::layer {

struct Sha256::Ctx {
    EVP_MD_CTX* md = nullptr;
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    ctx_->md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t len) {
    EVP_DigestUpdate(ctx_->md, data, len);
}

std::string Sha256::digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_->md, md, &n);
    static const char hex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

std::string sha256_digest(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.digest();
}

std::string chain_id(const std::string& parent_chain, const std::string& diff_id) {
    if (parent_chain.empty()) return diff_id;
    return sha256_digest(parent_chain + " " + diff_id);
}

}  // namespace berth::image::layer
