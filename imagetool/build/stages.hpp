// The stages of a multi-stage Dockerfile: where each starts and ends, its base (after the
// ARGs declared before the first FROM) and its name. A stage is built only when the target
// stage needs it (its FROM or a COPY --from names it), as BuildKit does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "imagetool/build/dockerfile.hpp"

namespace berth::image::build {

struct Stage {
    size_t index = 0;
    std::string name;  // lower case (stage names are case-insensitive); "" without AS
    std::string base;  // FROM's image word after substitution: "scratch", a stage or an image
    size_t from = 0;   // the FROM's position in Dockerfile::instructions
    size_t end = 0;    // one past the stage's last instruction
    std::string label() const { return name.empty() ? std::to_string(index) : name; }
};

// Splits at each FROM (instructions before the first FROM are the global ARGs). `meta` looks
// up the global ARGs for FROM's substitution. Errors: a FROM that is not `IMAGE [AS NAME]`,
// a bad or repeated stage name.
Result<std::vector<Stage>> split_stages(const Dockerfile& df, const Lookup& meta);

// The stage a name or index refers to among the first `before` stages (names compared in
// lower case; a number is an index).
std::optional<size_t> find_stage(const std::vector<Stage>& stages, std::string_view ref,
                                 size_t before);
// "a, b, 2" for messages.
std::string stage_list(const std::vector<Stage>& stages);

}  // namespace berth::image::build
