// Dockerfile parsing (the Dockerfile reference, berth's own parser): parser directives
// (`# syntax=`, `# escape=`), comments, line continuations, instructions with their
// `--flags`, JSON (exec) and shell forms; and the variable substitution the reference
// applies to ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ARG: `$V`, `${V}`,
// `${V:-x}`, `${V:+x}`, `${V-x}`, `${V+x}`, `${V:?msg}`, quotes and the escape character.
// Heredocs are not supported (an error says so). Errors name FILE:LINE.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace berth::image::build {

struct Instruction {
    std::string keyword;             // upper case: "FROM", "RUN", ...
    int line = 0;                    // where it starts (1-based)
    std::vector<std::string> flags;  // leading "--name=value" words, as written, without "--"
    bool json = false;               // exec form: `args` is the JSON array
    // JSON form: the array. Otherwise: the text after the keyword and flags with continuations
    // joined (for RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK the shell text itself; the others
    // are split by the caller with words()/key_values() after expansion rules apply).
    std::vector<std::string> args;
    std::string text() const { return args.empty() ? std::string() : args.front(); }
};

struct Dockerfile {
    std::string file;  // for messages
    char escape = '\\';
    std::string syntax;  // the `# syntax=` directive, if any (recorded, not acted on)
    std::vector<Instruction> instructions;

    // "FILE:LINE" of an instruction, the prefix of every error about it.
    std::string where(const Instruction& i) const;
};

// Parses a whole Dockerfile. Checks: known instructions, arguments present, JSON arrays of
// strings where the form is JSON (SHELL must be), ARG the only instruction before the first
// FROM, at least one FROM.
Result<Dockerfile> parse_dockerfile(std::string_view text, const std::string& file);

// One instruction on its own (an ONBUILD trigger read from an image), checked as the
// parser checks a line of a Dockerfile; errors name FILE:LINE as given.
Result<Instruction> parse_instruction(std::string_view text, const std::string& file, int line,
                                      char escape = '\\');

// Looks a variable up: nullopt when unset (set-but-empty is "").
using Lookup = std::function<std::optional<std::string>(const std::string&)>;
Lookup lookup_in(const std::map<std::string, std::string>& vars);

// One word with quotes removed and variables substituted (WORKDIR, USER, FROM, ...).
Result<std::string> expand_word(std::string_view text, const Lookup& vars, char escape = '\\');
// Splits on unquoted whitespace, then expands each word (COPY sources, EXPOSE, VOLUME).
Result<std::vector<std::string>> expand_words(std::string_view text, const Lookup& vars,
                                              char escape = '\\');
// ENV / LABEL / ARG: `K=V K2="v 2"` pairs (values expanded), or ENV's legacy `K V W` form
// (one pair, value "V W"). ARG allows a bare `NAME` (value nullopt).
Result<std::vector<std::pair<std::string, std::optional<std::string>>>> key_values(
    const Instruction& ins, const Lookup& vars, char escape = '\\');

}  // namespace berth::image::build
