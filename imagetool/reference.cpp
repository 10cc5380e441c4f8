// Reference parsing with the grammar of distribution/reference (Docker's normalisation).
#include "imagetool/reference.hpp"

#include <cctype>
#include <vector>

namespace berth::image {

namespace {

bool lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool valid_path_component(std::string_view s) {
    if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
    size_t i = 0;
    while (i < s.size()) {
        if (lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j = i + 1;
        } else if (s[i] == '_') {
            j = i + 1;
            if (j < s.size() && s[j] == '_') j++;
        } else if (s[i] == '-') {
            while (j < s.size() && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= s.size() || !lower_alnum(s[j])) return false;
        i = j;
    }
    return true;
}

bool valid_domain_component(std::string_view s) {
    if (s.empty()) return false;
    if (!std::isalnum(static_cast<unsigned char>(s.front())) ||
        !std::isalnum(static_cast<unsigned char>(s.back())))
        return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    return true;
}

bool valid_port(std::string_view p) {
    if (p.empty() || p.size() > 5) return false;
    for (char c : p)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    long v = std::stol(std::string(p));
    return v > 0 && v <= 65535;
}

bool valid_domain(std::string_view d) {
    std::string_view host = d, port;
    if (!d.empty() && d.front() == '[') {
        size_t close = d.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view v6 = d.substr(1, close - 1);
        if (v6.empty()) return false;
        for (char c : v6)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
        std::string_view rest = d.substr(close + 1);
        if (rest.empty()) return true;
        return rest.front() == ':' && valid_port(rest.substr(1));
    }
    size_t colon = d.rfind(':');
    if (colon != std::string_view::npos) {
        host = d.substr(0, colon);
        port = d.substr(colon + 1);
        if (!valid_port(port)) return false;
    }
    size_t start = 0;
    for (;;) {
        size_t dot = host.find('.', start);
        if (!valid_domain_component(
                host.substr(start, dot == std::string_view::npos ? dot : dot - start)))
            return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

// tag: [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128) return false;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(t.front())) return false;
    for (char c : t)
        if (!word(c) && c != '.' && c != '-') return false;
    return true;
}

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!lower_alnum(c) || (c > 'f' && c <= 'z')) return false;
    return true;
}

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
    std::string quoted = "invalid reference '" + std::string(text) + "'";
    auto bad = [&](const std::string& why) { return error(quoted + ": " + why); };
    if (text.empty()) return bad("empty");
    Reference r;
    std::string_view rest = text;
    // Digest first: it contains ':' which would otherwise look like a tag.
    if (size_t at = rest.find('@'); at != std::string_view::npos) {
        auto d = spec::Digest::parse(rest.substr(at + 1));
        if (!d) return bad(d.error().message());
        r.digest = std::move(d.value());
        rest = rest.substr(0, at);
    }
    // A tag is after the last ':' that follows the last '/'.
    size_t slash = rest.rfind('/');
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        std::string_view tag = rest.substr(colon + 1);
        if (!valid_tag(tag)) return bad("invalid tag '" + std::string(tag) + "'");
        r.tag = std::string(tag);
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) return bad("missing repository name");
    // Registry: a first component with '.', ':', "localhost" or upper case.
    std::string_view repo = rest;
    size_t first = rest.find('/');
    if (first != std::string_view::npos) {
        std::string_view c = rest.substr(0, first);
        bool has_upper = false;
        for (char ch : c)
            has_upper |= std::isupper(static_cast<unsigned char>(ch)) != 0;
        if (c.find_first_of(".:") != std::string_view::npos || c == "localhost" || has_upper ||
            (!c.empty() && c.front() == '[')) {
            if (!valid_domain(c)) return bad("invalid registry '" + std::string(c) + "'");
            r.registry = std::string(c);
            repo = rest.substr(first + 1);
        }
    }
    if (r.registry.empty()) r.registry = kDefaultRegistry;
    if (r.registry == "index.docker.io" || r.registry == "registry-1.docker.io")
        r.registry = kDefaultRegistry;
    if (repo.empty()) return bad("missing repository name");
    for (char ch : repo)
        if (std::isupper(static_cast<unsigned char>(ch)))
            return bad("repository name must be lowercase");
    size_t start = 0;
    for (;;) {
        size_t s = repo.find('/', start);
        std::string_view comp = repo.substr(start, s == std::string_view::npos ? s : s - start);
        if (!valid_path_component(comp))
            return bad("invalid repository component '" + std::string(comp) + "'");
        if (s == std::string_view::npos) break;
        start = s + 1;
    }
    r.repository = std::string(repo);
    if (r.registry == kDefaultRegistry && r.repository.find('/') == std::string::npos) {
        if (is_hex64(r.repository) && r.tag.empty() && !r.digest)
            return bad("cannot use a 64-byte hexadecimal string as a repository name");
        r.repository = "library/" + r.repository;
    }
    if (r.name().size() > 255) return bad("repository name longer than 255 characters");
    if (r.tag.empty() && !r.digest) r.tag = kDefaultTag;
    return r;
}

std::string Reference::name() const {
    return registry + "/" + repository;
}

std::string Reference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (digest) s += "@" + digest->str();
    return s;
}

std::string Reference::api_host() const {
    return registry == kDefaultRegistry ? "registry-1.docker.io" : registry;
}

std::string Reference::api_reference() const {
    return digest ? digest->str() : tag;
}

std::string registry_host(std::string_view hp) {
    if (!hp.empty() && hp.front() == '[') {
        size_t close = hp.find(']');
        return std::string(hp.substr(1, close == std::string_view::npos ? hp.npos : close - 1));
    }
    size_t colon = hp.rfind(':');
    return std::string(colon == std::string_view::npos ? hp : hp.substr(0, colon));
}

bool is_loopback_registry(std::string_view hp) {
    std::string h = registry_host(hp);
    return h == "localhost" || h == "::1" || h.starts_with("127.");
}

Result<std::string> normalize_registry(std::string_view text) {
    std::string_view s = text;
    for (std::string_view scheme : {"https://", "http://"})
        if (s.substr(0, scheme.size()) == scheme) s.remove_prefix(scheme.size());
    if (size_t slash = s.find('/'); slash != std::string_view::npos) s = s.substr(0, slash);
    if (s.empty() || !valid_domain(s)) return error("invalid registry '" + std::string(text) + "'");
    std::string out(s);
    if (out == "index.docker.io" || out == "registry-1.docker.io") out = kDefaultRegistry;
    return out;
}

}  // namespace berth::image
