// Stage splitting. Stage names follow BuildKit's rule (a letter, then letters, digits, '-',
// '_' or '.'), so a name can never be mistaken for a stage index.
#include "imagetool/build/stages.hpp"

#include <algorithm>
#include <cctype>

namespace berth::image::build {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

bool valid_name(const std::string& n) {
    if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

}  // namespace

Result<std::vector<Stage>> split_stages(const Dockerfile& df, const Lookup& meta) {
    std::vector<Stage> out;
    for (size_t i = 0; i < df.instructions.size(); ++i) {
        const Instruction& ins = df.instructions[i];
        if (ins.keyword != "FROM") continue;
        if (!out.empty()) out.back().end = i;
        std::string at = df.where(ins) + ": FROM: ";
        auto words = expand_words(ins.text(), meta, df.escape);
        if (!words) return error(at + words.error().str());
        if (words->size() != 1 && !(words->size() == 3 && lower(words->at(1)) == "as"))
            return error(at + "expected IMAGE [AS NAME], got '" + ins.text() + "'");
        Stage s;
        s.index = out.size();
        s.from = i;
        s.base = words->front();
        if (s.base.empty()) return error(at + "empty image name in '" + ins.text() + "'");
        if (words->size() == 3) {
            s.name = lower(words->at(2));
            if (!valid_name(s.name))
                return error(at + "stage name '" + words->at(2) +
                             "': expected a letter, then letters, digits, '-', '_' or '.'");
            for (const auto& o : out)
                if (o.name == s.name)
                    return error(at + "stage name '" + s.name + "' is already used at " +
                                 df.where(df.instructions[o.from]));
        }
        out.push_back(std::move(s));
    }
    if (!out.empty()) out.back().end = df.instructions.size();
    return out;
}

std::optional<size_t> find_stage(const std::vector<Stage>& stages, std::string_view ref,
                                 size_t before) {
    before = std::min(before, stages.size());
    if (!ref.empty() && std::all_of(ref.begin(), ref.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        })) {
        if (ref.size() > 6) return std::nullopt;
        size_t i = std::stoul(std::string(ref));
        if (i < before) return i;
        return std::nullopt;
    }
    std::string n = lower(ref);
    for (size_t i = 0; i < before; ++i)
        if (stages[i].name == n) return i;
    return std::nullopt;
}

std::string stage_list(const std::vector<Stage>& stages) {
    std::string s;
    for (const auto& st : stages)
        s += (s.empty() ? "" : ", ") + st.label();
    return s;
}

}  // namespace berth::image::build
