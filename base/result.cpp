// Error formatting.
#include "base/result.hpp"

#include <cstring>

namespace berth {

std::string Error::str() const {
    if (code_ == 0) return msg_;
    std::string s = msg_;
    if (!s.empty()) s += ": ";
    s += std::strerror(code_);
    return s;
}

}  // namespace berth
