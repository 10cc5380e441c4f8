// .dockerignore rules. A rule matches a path when it matches the path or one of its parent
// directories: that is how BuildKit leaves out a whole excluded directory, and why a later
// `!dir/keep` must still be able to bring a file back from under it.
#include "imagetool/build/dockerignore.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include "base/file.hpp"
#include "base/in_root.hpp"

namespace berth::image::build {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Go's path.Clean on a relative-or-absolute pattern, then split; ".." above the top stays
// (such a pattern never matches anything in the context).
std::vector<std::string> clean_parts(std::string_view p) {
    std::vector<std::string> out;
    for (const auto& c : path_components(p)) {
        if (c == ".") continue;
        if (c == ".." && !out.empty() && out.back() != "..") {
            out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    return out;
}

bool match_parts(const std::vector<std::string>& pat, size_t i,
                 const std::vector<std::string>& path, size_t j, size_t end) {
    if (i == pat.size()) return j == end;
    if (pat[i] == "**") {
        for (size_t k = j; k <= end; ++k)
            if (match_parts(pat, i + 1, path, k, end)) return true;
        return false;
    }
    if (j == end || !match_component(pat[i], path[j])) return false;
    return match_parts(pat, i + 1, path, j + 1, end);
}

}  // namespace

bool match_component(std::string_view pattern, std::string_view name) {
    return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

bool has_wildcard(std::string_view s) {
    return s.find_first_of("*?[") != std::string_view::npos;
}

Result<IgnoreRules> IgnoreRules::parse(std::string_view text) {
    IgnoreRules r;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        // Docker: a comment is a line starting with '#'; whitespace around a pattern is
        // dropped.
        if (!line.empty() && line.front() == '#') continue;
        line = trim(line);
        if (line.empty()) continue;
        Rule rule;
        if (line.front() == '!') {
            rule.exception = true;
            line = trim(line.substr(1));
            if (line.empty()) return error(".dockerignore: '!' without a pattern");
        }
        rule.parts = clean_parts(line);
        if (rule.parts.empty()) continue;  // "." or "/": the context itself is never left out
        r.exceptions_ = r.exceptions_ || rule.exception;
        r.rules_.push_back(std::move(rule));
    }
    return r;
}

Result<IgnoreRules> IgnoreRules::read(int context_fd) {
    auto fd = open_in_root(context_fd, ".dockerignore", O_RDONLY, 0, kInRootBeneath);
    if (!fd) {
        if (fd.error().code() == ENOENT) return IgnoreRules{};
        return std::move(fd).error().with_context("open .dockerignore");
    }
    auto text = read_fd(fd->get(), 1u << 20);
    if (!text) return std::move(text).error().with_context("read .dockerignore");
    return parse(*text);
}

bool IgnoreRules::excluded(std::string_view rel) const {
    if (rules_.empty()) return false;
    auto path = clean_parts(rel);
    if (path.empty()) return false;
    bool out = false;
    for (const auto& rule : rules_) {
        bool m = false;
        for (size_t end = 1; end <= path.size() && !m; ++end)
            m = match_parts(rule.parts, 0, path, 0, end);
        if (m) out = !rule.exception;
    }
    return out;
}

}  // namespace berth::image::build
