// Go-flag style command-line parsing.
#include "base/args.hpp"

#include <cerrno>
#include <cstdlib>

namespace berth {

namespace {
std::vector<std::string> split_names(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}
}  // namespace

Args& Args::flag(std::string names, std::string help) {
    specs_.push_back({split_names(names), "", std::move(help), "false"});
    return *this;
}

Args& Args::option(std::string names, std::string value_name, std::string help, std::string def) {
    specs_.push_back({split_names(names), std::move(value_name), std::move(help), std::move(def)});
    return *this;
}

const Args::Spec* Args::find(std::string_view name) const {
    for (auto& s : specs_)
        for (auto& n : s.names)
            if (n == name) return &s;
    return nullptr;
}

Status Args::parse(const std::vector<std::string>& argv, bool stop_at_positional) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == "--") {
            pos_.insert(pos_.end(), argv.begin() + long(i) + 1, argv.end());
            return ok();
        }
        if (a.size() < 2 || a[0] != '-') {
            if (stop_at_positional) {
                pos_.insert(pos_.end(), argv.begin() + long(i), argv.end());
                return ok();
            }
            pos_.push_back(a);
            continue;
        }
        std::string_view body(a);
        body.remove_prefix(a[1] == '-' ? 2 : 1);
        std::string_view name = body, inline_value;
        bool has_inline = false;
        if (auto eq = body.find('='); eq != std::string_view::npos) {
            name = body.substr(0, eq);
            inline_value = body.substr(eq + 1);
            has_inline = true;
        }
        const Spec* s = find(name);
        if (!s) return error("flag provided but not defined: -" + std::string(name));
        auto& slot = values_[s->names[0]];
        if (s->value_name.empty()) {
            if (has_inline) {
                if (inline_value == "true" || inline_value == "1")
                    slot.push_back("true");
                else if (inline_value == "false" || inline_value == "0")
                    slot.push_back("false");
                else
                    return error("invalid boolean value '" + std::string(inline_value) + "' for -" +
                                 std::string(name));
            } else {
                slot.push_back("true");
            }
        } else if (has_inline) {
            slot.emplace_back(inline_value);
        } else {
            if (i + 1 >= argv.size()) return error("flag needs an argument: -" + std::string(name));
            slot.push_back(argv[++i]);
        }
    }
    return ok();
}

bool Args::has(std::string_view name) const {
    const Spec* s = find(name);
    return s && values_.count(s->names[0]);
}

bool Args::get_bool(std::string_view name) const {
    return get(name) == "true";
}

std::string Args::get(std::string_view name) const {
    const Spec* s = find(name);
    if (!s) return "";
    auto it = values_.find(s->names[0]);
    if (it == values_.end() || it->second.empty()) return s->def;
    return it->second.back();
}

std::optional<long long> Args::get_number(std::string_view name, long long min,
                                          long long max) const {
    // The value is kept in a named string: strtoll's end pointer points into it.
    std::string text = get(name);
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || !end || *end || n < min || n > max) return std::nullopt;
    return n;
}

std::vector<std::string> Args::get_all(std::string_view name) const {
    const Spec* s = find(name);
    if (!s) return {};
    auto it = values_.find(s->names[0]);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::help() const {
    std::string out;
    for (auto& s : specs_) {
        std::string left = "   ";
        for (size_t i = 0; i < s.names.size(); ++i) {
            if (i) left += ", ";
            left += (s.names[i].size() == 1 ? "-" : "--") + s.names[i];
            if (!s.value_name.empty()) left += " " + s.value_name;
        }
        if (left.size() < 32)
            left.resize(32, ' ');
        else
            left += "  ";
        out += left + s.help;
        if (!s.value_name.empty() && !s.def.empty()) out += " (default: \"" + s.def + "\")";
        out += "\n";
    }
    return out;
}

}  // namespace berth
