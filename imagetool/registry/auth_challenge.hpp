// WWW-Authenticate parsing per RFC 7235 section 4.1 (challenges, auth-params, token68).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace berth::image {

struct Challenge {
    std::string scheme;                         // lower-case: "bearer", "basic"
    std::map<std::string, std::string> params;  // names lower-case, values unquoted
    std::string token68;                        // when the challenge carries one instead
    std::string param(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? std::string() : it->second;
    }
};

// All challenges in one header value ("Bearer realm=\"x\",service=\"y\", Basic realm=z").
// Malformed input (unterminated quote, missing value, duplicate parameter) is an error.
Result<std::vector<Challenge>> parse_challenges(std::string_view header);

}  // namespace berth::image
