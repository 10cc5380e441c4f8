// .dockerignore: which files of the build context COPY and ADD cannot see. Patterns as
// Docker reads them: one a line, `#` comments, blank lines skipped, `!` an exception, the
// pattern cleaned (`a/../b` is `b`) and a leading `/` dropped; `*`, `?`, `[...]` and `\` as
// Go's filepath.Match within one path component, `**` as a whole component for any number
// of components. A pattern that matches a directory excludes everything beneath it; the last
// pattern that matches a path decides, so `!` can bring back a file below an excluded
// directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace berth::image::build {

class IgnoreRules {
  public:
    // Parses the text of a .dockerignore (an empty text ignores nothing).
    static Result<IgnoreRules> parse(std::string_view text);
    // Reads <context>/.dockerignore (beneath the context fd); no file ignores nothing.
    static Result<IgnoreRules> read(int context_fd);

    // `rel` is context-relative without a leading "./" ("sub/inner/d"); "" and "." are the
    // context itself, never excluded.
    bool excluded(std::string_view rel) const;
    // Whether some `!` pattern could bring back something below an excluded directory.
    bool has_exceptions() const { return exceptions_; }
    bool empty() const { return rules_.empty(); }

  private:
    struct Rule {
        std::vector<std::string> parts;  // components; "**" matches any number of them
        bool exception = false;
    };
    std::vector<Rule> rules_;
    bool exceptions_ = false;
};

// filepath.Match on one component: `*` and `?` never match '/', `[...]` (with `^` or `!`
// negation and ranges), `\` escapes.
bool match_component(std::string_view pattern, std::string_view name);
// Whether a source names a pattern rather than a path (`*`, `?` or `[`).
bool has_wildcard(std::string_view s);

}  // namespace berth::image::build
