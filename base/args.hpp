// A command-line parser with Go-flag habits (runc's): "-name" and "--name" are the same flag,
// values as "--name v" or "--name=v", bool flags take "=true"/"=false", no short clusters.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace berth {

class Args {
  public:
    // names: comma-separated, first is canonical ("bundle,b"). value_name empty = bool flag.
    Args& flag(std::string names, std::string help);
    Args& option(std::string names, std::string value_name, std::string help, std::string def = "");

    // Parses argv[begin..end). With stop_at_positional, the first non-flag argument and
    // everything after it are positionals (exec's command). "--" always ends the flags.
    Status parse(const std::vector<std::string>& argv, bool stop_at_positional = false);

    bool has(std::string_view name) const;         // given on the command line
    bool get_bool(std::string_view name) const;    // flag value
    std::string get(std::string_view name) const;  // last value or default
    // The value as a whole decimal number within [min, max]; nullopt when it is not one.
    std::optional<long long> get_number(std::string_view name, long long min, long long max) const;
    std::vector<std::string> get_all(std::string_view name) const;  // every value in order
    const std::vector<std::string>& positionals() const { return pos_; }

    // "  --bundle value, -b value   help" lines for --help output.
    std::string help() const;

  private:
    struct Spec {
        std::vector<std::string> names;
        std::string value_name;
        std::string help;
        std::string def;
    };
    const Spec* find(std::string_view name) const;
    std::vector<Spec> specs_;
    std::map<std::string, std::vector<std::string>, std::less<>> values_;
    std::vector<std::string> pos_;
};

}  // namespace berth
