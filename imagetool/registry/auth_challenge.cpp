// RFC 7235 challenge parser. The grammar is ambiguous at commas (a comma separates both
// parameters and challenges); after a comma, "token BWS =" continues the parameters and
// anything else starts a new challenge, as the RFC's note in 4.1 suggests.
#include "imagetool/registry/auth_challenge.hpp"

#include <cctype>

namespace berth::image {

namespace {

bool tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool t68char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-._~+/").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

class Parser {
  public:
    explicit Parser(std::string_view s) : s_(s) {}

    Result<std::vector<Challenge>> run() {
        std::vector<Challenge> out;
        for (;;) {
            skip_ows_commas();
            if (eof()) break;
            std::string_view scheme = token();
            if (scheme.empty()) return bad("expected an auth scheme");
            Challenge c;
            c.scheme = lower(scheme);
            size_t sp = skip_sp();
            if (eof() || peek() == ',') {
                out.push_back(std::move(c));
                continue;
            }
            if (sp == 0) return bad("expected a space after the scheme");
            if (looks_like_token68()) {
                size_t start = i_;
                while (!eof() && t68char(peek()))
                    i_++;
                while (!eof() && peek() == '=')
                    i_++;
                c.token68 = std::string(s_.substr(start, i_ - start));
                skip_ows();
                if (!eof() && peek() != ',') return bad("garbage after token68");
                out.push_back(std::move(c));
                continue;
            }
            TRY(params(c));
            out.push_back(std::move(c));
        }
        if (out.empty()) return bad("no challenge");
        return out;
    }

  private:
    Error bad(const std::string& why) const {
        return error("WWW-Authenticate: " + why + " at offset " + std::to_string(i_));
    }
    bool eof() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    size_t skip_sp() {
        size_t n = 0;
        while (!eof() && (peek() == ' ' || peek() == '\t'))
            i_++, n++;
        return n;
    }
    void skip_ows() { skip_sp(); }
    void skip_ows_commas() {
        while (!eof() && (peek() == ' ' || peek() == '\t' || peek() == ','))
            i_++;
    }
    std::string_view token() {
        size_t start = i_;
        while (!eof() && tchar(peek()))
            i_++;
        return s_.substr(start, i_ - start);
    }

    // token68 vs auth-param: an auth-param is "token BWS = BWS value"; a token68 is
    // t68chars then '='s then the end of the challenge.
    bool looks_like_token68() {
        size_t save = i_;
        while (!eof() && t68char(peek()))
            i_++;
        size_t after_chars = i_;
        while (!eof() && peek() == '=')
            i_++;
        bool had_eq = i_ > after_chars;
        skip_ows();
        bool end = eof() || peek() == ',';
        bool result = after_chars > save && end;
        // "name=value" never ends right after the '='s; "abc==" with nothing after does.
        if (!had_eq && !end) result = false;
        i_ = save;
        return result;
    }

    // After a comma: another parameter of this challenge, or a new challenge?
    bool next_is_param() {
        size_t save = i_;
        skip_ows_commas();
        std::string_view t = token();
        skip_ows();
        bool param = !t.empty() && !eof() && peek() == '=';
        i_ = save;
        return param;
    }

    Status params(Challenge& c) {
        for (;;) {
            std::string_view name = token();
            if (name.empty()) return bad("expected a parameter name");
            skip_ows();
            if (eof() || peek() != '=')
                return bad("expected '=' after '" + std::string(name) + "'");
            i_++;
            skip_ows();
            std::string value;
            if (!eof() && peek() == '"') {
                i_++;
                bool closed = false;
                while (!eof()) {
                    char ch = peek();
                    i_++;
                    if (ch == '"') {
                        closed = true;
                        break;
                    }
                    if (ch == '\\') {
                        if (eof()) break;
                        ch = peek();
                        i_++;
                    }
                    value += ch;
                }
                if (!closed) return bad("unterminated quoted string");
            } else {
                std::string_view v = token();
                if (v.empty()) return bad("expected a value for '" + std::string(name) + "'");
                value = std::string(v);
            }
            std::string key = lower(name);
            if (c.params.count(key)) return bad("duplicate parameter '" + key + "'");
            c.params[key] = std::move(value);
            skip_ows();
            if (eof()) return ok();
            if (peek() != ',') return bad("expected ',' after a parameter");
            if (!next_is_param()) return ok();
            skip_ows_commas();
        }
    }

    std::string_view s_;
    size_t i_ = 0;
};

}  // namespace

Result<std::vector<Challenge>> parse_challenges(std::string_view header) {
    return Parser(header).run();
}

}  // namespace berth::image
