// The parser works in two passes over lines: directives at the top, then logical lines
// (continuations joined, comment lines dropped even inside a continuation, as Docker does),
// each split into keyword, flags and arguments. Where Docker silently runs a malformed JSON
// form as shell text (`CMD ["a", b]` becomes `/bin/sh -c '["a", b]'`, never what was meant),
// berth refuses it with the line.
#include "imagetool/build/dockerfile.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace berth::image::build {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view ltrim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}

std::string_view rtrim(std::string_view s) {
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string_view trim(std::string_view s) {
    return rtrim(ltrim(s));
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return char(std::toupper(c)); });
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

const std::set<std::string>& known() {
    static const std::set<std::string> k = {
        "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
        "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
        "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};
    return k;
}

const std::set<std::string>* allowed_flags(const std::string& kw) {
    static const std::map<std::string, std::set<std::string>> f = {
        {"FROM", {"platform"}},
        {"RUN", {"mount", "network", "security"}},
        {"COPY", {"from", "chown", "chmod", "link", "parents", "exclude"}},
        {"ADD", {"chown", "chmod", "checksum", "keep-git-dir", "link", "exclude"}},
        {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}},
    };
    auto it = f.find(kw);
    return it == f.end() ? nullptr : &it->second;
}

bool json_form_allowed(const std::string& kw) {
    return kw == "RUN" || kw == "CMD" || kw == "ENTRYPOINT" || kw == "SHELL" || kw == "COPY" ||
           kw == "ADD" || kw == "VOLUME";
}

// A JSON array of strings, or nullopt when `s` is not one.
std::optional<std::vector<std::string>> json_array(std::string_view s) {
    try {
        auto j = nlohmann::json::parse(s);
        if (!j.is_array()) return std::nullopt;
        std::vector<std::string> out;
        for (const auto& e : j) {
            if (!e.is_string()) return std::nullopt;
            out.push_back(e.get<std::string>());
        }
        return out;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// `# key=value` at the top of the file.
bool directive(std::string_view line, std::string& key, std::string& value) {
    line = trim(line);
    if (line.empty() || line[0] != '#') return false;
    line = ltrim(line.substr(1));
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = rtrim(line.substr(0, eq));
    if (k.empty() || !std::all_of(k.begin(), k.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        }))
        return false;
    key = lower(k);
    value = std::string(trim(line.substr(eq + 1)));
    return true;
}

class Parser {
  public:
    explicit Parser(Dockerfile& df, bool seen_from = false) : df_(df), seen_from_(seen_from) {}

    Status instruction(std::string_view logical, int line) {
        logical = trim(logical);
        size_t sp = 0;
        while (sp < logical.size() && !is_space(logical[sp]))
            ++sp;
        Instruction ins;
        ins.line = line;
        ins.keyword = upper(logical.substr(0, sp));
        std::string_view rest = ltrim(logical.substr(sp));
        std::string at = df_.file + ":" + std::to_string(line) + ": ";
        if (!known().count(ins.keyword))
            return error(at + "unknown instruction '" + std::string(logical.substr(0, sp)) + "'");
        if (const auto* allowed = allowed_flags(ins.keyword)) {
            while (rest.substr(0, 2) == "--") {
                size_t e = 0;
                while (e < rest.size() && !is_space(rest[e]))
                    ++e;
                std::string flag(rest.substr(2, e - 2));
                std::string name = flag.substr(0, flag.find('='));
                if (!allowed->count(name))
                    return error(at + ins.keyword + ": unknown flag --" + name);
                ins.flags.push_back(flag);
                rest = ltrim(rest.substr(e));
            }
        }
        if (rest.empty() && ins.keyword != "CMD" && ins.keyword != "ENTRYPOINT")
            return error(at + ins.keyword + " needs an argument");
        if ((ins.keyword == "RUN" || ins.keyword == "COPY" || ins.keyword == "ADD") &&
            heredoc(rest))
            return error(at + ins.keyword + ": heredocs (<<) are not supported");
        std::string_view form = rest;
        if (ins.keyword == "HEALTHCHECK") {
            std::string word = upper(rest.substr(0, rest.find_first_of(" \t")));
            if (word == "NONE") {
                if (trim(rest) != std::string_view(rest.substr(0, 4)))
                    return error(at + "HEALTHCHECK NONE takes no arguments");
                ins.args = {"NONE"};
                return add(std::move(ins));
            }
            if (word != "CMD") return error(at + "HEALTHCHECK: expected CMD or NONE");
            form = ltrim(rest.substr(3));
            if (form.empty()) return error(at + "HEALTHCHECK CMD needs a command");
        }
        bool may_json = json_form_allowed(ins.keyword) || ins.keyword == "HEALTHCHECK";
        std::string_view t = rtrim(form);
        if (may_json && !t.empty() && t.front() == '[') {
            auto arr = json_array(t);
            // Meant as JSON when a string or the end follows the bracket; `[ -f x ]` is the
            // shell's test command.
            std::string_view after = ltrim(t.substr(1));
            bool meant_json = !after.empty() && (after[0] == '"' || after[0] == ']');
            if (!arr) {
                if (meant_json || ins.keyword == "SHELL")
                    return error(at + ins.keyword +
                                 ": not a JSON array of strings: " + std::string(t));
            } else {
                ins.json = true;
                ins.args = std::move(*arr);
            }
        }
        if (ins.keyword == "SHELL" && !ins.json)
            return error(at + "SHELL needs a JSON array, e.g. [\"/bin/sh\", \"-c\"]");
        if (!ins.json && !t.empty()) ins.args = {std::string(t)};
        if (ins.keyword == "HEALTHCHECK") ins.args.insert(ins.args.begin(), "CMD");
        if (ins.keyword == "ONBUILD") {
            std::string inner = upper(t.substr(0, t.find_first_of(" \t")));
            if (inner == "ONBUILD" || inner == "FROM" || inner == "MAINTAINER")
                return error(at + "ONBUILD " + inner + " is not allowed");
            if (!known().count(inner))
                return error(at + "ONBUILD: unknown instruction '" + inner + "'");
        }
        return add(std::move(ins));
    }

  private:
    static bool heredoc(std::string_view rest) {
        for (size_t i = 0; i + 2 < rest.size(); ++i) {
            if (rest[i] != '<' || rest[i + 1] != '<' || (i > 0 && !is_space(rest[i - 1]))) continue;
            char c = rest[i + 2];
            if (c == '-') c = i + 3 < rest.size() ? rest[i + 3] : ' ';
            if (std::isalpha(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '_')
                return true;
        }
        return false;
    }

    Status add(Instruction ins) {
        if (ins.keyword == "FROM") seen_from_ = true;
        if (!seen_from_ && ins.keyword != "ARG")
            return error(df_.where(ins) + ": " + ins.keyword +
                         " before the first FROM (only ARG may come before it)");
        df_.instructions.push_back(std::move(ins));
        return ok();
    }

    Dockerfile& df_;
    bool seen_from_ = false;
};

// The expansion lexer (Docker's ProcessWord): quotes removed, escapes applied, variables
// substituted; optionally split into words on unquoted whitespace.
class Lexer {
  public:
    Lexer(std::string_view s, const Lookup& vars, char escape) : s_(s), vars_(vars), esc_(escape) {}

    Result<std::vector<std::string>> run(bool split) {
        std::vector<std::string> words;
        std::string cur;
        bool have = false;  // a word was started (even an empty quoted one)
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (split && is_space(c)) {
                if (have) words.push_back(std::move(cur));
                cur.clear();
                have = false;
                ++i_;
                continue;
            }
            have = true;
            if (c == esc_) {
                ++i_;
                if (i_ < s_.size())
                    cur += s_[i_++];
                else
                    cur += c;
            } else if (c == '\'') {
                ++i_;
                size_t e = s_.find('\'', i_);
                if (e == std::string_view::npos) return error("unterminated single quote");
                cur += s_.substr(i_, e - i_);
                i_ = e + 1;
            } else if (c == '"') {
                ++i_;
                for (;;) {
                    if (i_ >= s_.size()) return error("unterminated double quote");
                    char d = s_[i_];
                    if (d == '"') {
                        ++i_;
                        break;
                    }
                    if (d == esc_ && i_ + 1 < s_.size() &&
                        (s_[i_ + 1] == '"' || s_[i_ + 1] == '$' || s_[i_ + 1] == esc_)) {
                        cur += s_[i_ + 1];
                        i_ += 2;
                    } else if (d == '$') {
                        cur += TRY(dollar());
                    } else {
                        cur += d;
                        ++i_;
                    }
                }
            } else if (c == '$') {
                cur += TRY(dollar());
            } else {
                cur += c;
                ++i_;
            }
        }
        if (have) words.push_back(std::move(cur));
        return words;
    }

  private:
    static bool name_start(char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    }
    static bool name_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    }

    std::string name() {
        size_t b = i_;
        while (i_ < s_.size() && name_char(s_[i_]))
            ++i_;
        return std::string(s_.substr(b, i_ - b));
    }

    // At '$'.
    Result<std::string> dollar() {
        ++i_;
        if (i_ >= s_.size()) return std::string("$");
        if (name_start(s_[i_])) return vars_(name()).value_or("");
        if (s_[i_] != '{') return std::string("$");
        ++i_;
        if (i_ >= s_.size() || !name_start(s_[i_]))
            return error("bad substitution: '${' must be followed by a name");
        std::string n = name();
        if (i_ >= s_.size()) return error("missing '}' in ${" + n);
        if (s_[i_] == '}') {
            ++i_;
            return vars_(n).value_or("");
        }
        bool colon = s_[i_] == ':';
        if (colon) ++i_;
        if (i_ >= s_.size()) return error("missing '}' in ${" + n);
        char op = s_[i_++];
        if (op != '-' && op != '+' && op != '?')
            return error("unsupported modifier in ${" + n + "...}");
        // The word runs to the matching brace; it is itself expanded.
        size_t b = i_;
        int depth = 1;
        for (; i_ < s_.size(); ++i_) {
            if (s_[i_] == esc_) {
                ++i_;
                continue;
            }
            if (s_[i_] == '{') ++depth;
            if (s_[i_] == '}' && --depth == 0) break;
        }
        if (i_ >= s_.size()) return error("missing '}' in ${" + n);
        std::string_view raw = s_.substr(b, i_ - b);
        ++i_;
        Lexer inner(raw, vars_, esc_);
        auto w = TRY(inner.run(false));
        std::string word = w.empty() ? "" : w.front();
        auto v = vars_(n);
        bool set = colon ? (v && !v->empty()) : v.has_value();
        switch (op) {
            case '-':
                return set ? *v : word;
            case '+':
                return set ? word : std::string();
            default:
                if (!set) return error(n + ": " + (word.empty() ? "is not set" : word));
                return *v;
        }
    }

    std::string_view s_;
    const Lookup& vars_;
    char esc_;
    size_t i_ = 0;
};

// Splits on unquoted whitespace keeping each word's raw text (quotes and escapes intact).
Result<std::vector<std::string>> raw_words(std::string_view s, char esc) {
    std::vector<std::string> out;
    std::string cur;
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!quote && is_space(c)) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        cur += c;
        if (c == esc && quote != '\'' && i + 1 < s.size()) {
            cur += s[++i];
            continue;
        }
        if (!quote && (c == '"' || c == '\''))
            quote = c;
        else if (quote == c)
            quote = 0;
    }
    if (quote)
        return error(std::string("unterminated ") + (quote == '"' ? "double" : "single") +
                     " quote");
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

}  // namespace

std::string Dockerfile::where(const Instruction& i) const {
    return file + ":" + std::to_string(i.line);
}

Result<Dockerfile> parse_dockerfile(std::string_view text, const std::string& file) {
    Dockerfile df;
    df.file = file;
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view l = text.substr(0, nl);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        lines.push_back(l);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    // Directives: only before anything else, each once; an unknown one is a comment and ends
    // them, as the reference says.
    std::set<std::string> seen;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string key, value;
        if (!directive(lines[i], key, value)) break;
        if (key != "escape" && key != "syntax") break;
        std::string at = file + ":" + std::to_string(i + 1) + ": ";
        if (!seen.insert(key).second) return error(at + "directive '" + key + "' given twice");
        if (key == "escape") {
            if (value != "\\" && value != "`")
                return error(at + "escape must be '\\' or '`', not '" + value + "'");
            df.escape = value[0];
        } else {
            df.syntax = value;
        }
    }
    Parser p(df);
    std::string cur;
    int start = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view t = ltrim(lines[i]);
        if (!t.empty() && t[0] == '#') continue;
        if (t.empty()) continue;
        if (cur.empty()) start = int(i) + 1;
        std::string_view r = rtrim(lines[i]);
        if (!r.empty() && r.back() == df.escape) {
            cur += r.substr(0, r.size() - 1);
            continue;
        }
        cur += lines[i];
        TRY(p.instruction(cur, start));
        cur.clear();
    }
    if (!trim(cur).empty()) TRY(p.instruction(cur, start));
    if (df.instructions.empty()) return error(file + ": no instructions");
    bool from = std::any_of(df.instructions.begin(), df.instructions.end(),
                            [](const Instruction& i) { return i.keyword == "FROM"; });
    if (!from) return error(file + ": no FROM instruction");
    return df;
}

Result<Instruction> parse_instruction(std::string_view text, const std::string& file, int line,
                                      char escape) {
    Dockerfile df;
    df.file = file;
    df.escape = escape;
    Parser p(df, true);
    TRY(p.instruction(text, line));
    return std::move(df.instructions.front());
}

Lookup lookup_in(const std::map<std::string, std::string>& vars) {
    return [&vars](const std::string& n) -> std::optional<std::string> {
        auto it = vars.find(n);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

Result<std::string> expand_word(std::string_view text, const Lookup& vars, char escape) {
    Lexer l(text, vars, escape);
    auto w = TRY(l.run(false));
    return w.empty() ? std::string() : w.front();
}

Result<std::vector<std::string>> expand_words(std::string_view text, const Lookup& vars,
                                              char escape) {
    Lexer l(text, vars, escape);
    return l.run(true);
}

Result<std::vector<std::pair<std::string, std::optional<std::string>>>> key_values(
    const Instruction& ins, const Lookup& vars, char escape) {
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    std::string text = ins.text();
    auto words = TRY(raw_words(text, escape));
    if (words.empty()) return error(ins.keyword + " needs an argument");
    bool legacy = words[0].find('=') == std::string::npos;
    if (legacy && ins.keyword != "ARG") {
        // ENV KEY VALUE...: the value is the rest of the line.
        if (words.size() < 2) return error(ins.keyword + " " + words[0] + ": needs a value");
        std::string_view rest =
            trim(std::string_view(text).substr(text.find(words[0]) + words[0].size()));
        out.emplace_back(words[0], TRY(expand_word(rest, vars, escape)));
        return out;
    }
    for (const auto& w : words) {
        size_t eq = w.find('=');
        if (eq == std::string::npos) {
            if (ins.keyword != "ARG")
                return error(ins.keyword + ": expected KEY=VALUE, got '" + w + "'");
            out.emplace_back(w, std::nullopt);
            continue;
        }
        std::string key = TRY(expand_word(std::string_view(w).substr(0, eq), vars, escape));
        if (key.empty()) return error(ins.keyword + ": empty name in '" + w + "'");
        out.emplace_back(key, TRY(expand_word(std::string_view(w).substr(eq + 1), vars, escape)));
    }
    return out;
}

}  // namespace berth::image::build
