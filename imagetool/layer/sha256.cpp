// Chain ids (image-spec config.md).
#include "imagetool/layer/sha256.hpp"

namespace berth::image::layer {

std::string chain_id(const std::string& parent_chain, const std::string& diff_id) {
    if (parent_chain.empty()) return diff_id;
    return sha256_digest(parent_chain + " " + diff_id);
}

}  // namespace berth::image::layer
