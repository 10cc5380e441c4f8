// Strict JSON reading helpers: paths, scalar readers, and the nlohmann parse adapter.
#include "spec/json_read.hpp"

#include <algorithm>

namespace berth::spec::jsonr {

namespace {

bool is_identifier(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// nlohmann parses iteratively but copies, converts and dumps recursively: a document nested
// 200000 deep parses fine and then overflows the stack. Configs are a few levels deep; refuse
// anything past kMaxDepth before nlohmann sees it.
constexpr size_t kMaxDepth = 512;

// Where nesting first passes kMaxDepth (byte offset), or npos. Brackets inside strings
// don't count.
size_t too_deep_at(const std::string& text) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxDepth) return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return std::string::npos;
}

}  // namespace

std::string member_path(const std::string& base, std::string_view key) {
    if (is_identifier(key)) return base.empty() ? std::string(key) : base + "." + std::string(key);
    // Dump through nlohmann so quotes and control characters in the key come out escaped.
    std::string quoted =
        json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace);
    return base + "[" + quoted + "]";
}

std::string element_path(const std::string& base, size_t index) {
    return base + "[" + std::to_string(index) + "]";
}

Result<json> parse_text(const std::string& text) {
    if (size_t at = too_deep_at(text); at != std::string::npos) {
        size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
        size_t nl = text.rfind('\n', at);
        size_t column = nl == std::string::npos ? at + 1 : at - nl;
        return error(ErrorKind::invalid, "invalid JSON at line " + std::to_string(line) +
                                             ", column " + std::to_string(column) +
                                             ": nested deeper than " + std::to_string(kMaxDepth) +
                                             " levels");
    }
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann says "[json.exception.parse_error.101] parse error at line 3, column 2:
        // syntax error ..."; keep the position and the reason, drop the exception id.
        std::string what = e.what();
        // "last read: '...'" echoes raw input bytes (newlines, invalid UTF-8) into what
        // becomes a one-line, possibly JSON-encoded log message: drop it.
        auto lr = what.find("; last read: '");
        if (lr != std::string::npos) {
            auto end = what.find("'; expected", lr + 14);
            what.erase(lr, end == std::string::npos ? std::string::npos : end + 1 - lr);
        }
        auto at = what.find("parse error at ");
        if (at != std::string::npos)
            return error(
                ErrorKind::invalid,
                "invalid JSON at " + what.substr(at + std::string("parse error at ").size()));
        return error(ErrorKind::invalid, "invalid JSON: " + what);
    } catch (const json::exception& e) {
        return error(ErrorKind::invalid, std::string("invalid JSON: ") + e.what());
    }
}

Error Node::fail(std::string_view what) const {
    if (path_.empty()) return error(ErrorKind::invalid, std::string(what));
    return error(ErrorKind::invalid, path_ + ": " + std::string(what));
}

const char* int_type_name(bool is_signed, size_t bytes) {
    switch (bytes) {
        case 1:
            return is_signed ? "int8" : "uint8";
        case 2:
            return is_signed ? "int16" : "uint16";
        case 4:
            return is_signed ? "int32" : "uint32";
        default:
            return is_signed ? "int64" : "uint64";
    }
}

Status read(const Node& n, std::string& out) {
    if (!n.value().is_string()) return n.fail("expected string");
    out = n.value().get<std::string>();
    return ok();
}

Status read(const Node& n, bool& out) {
    if (!n.value().is_boolean()) return n.fail("expected boolean");
    out = n.value().get<bool>();
    return ok();
}

Status read(const Node& n, std::vector<std::string>& out) {
    return read_array(n, out, [](const Node& e, std::string& s) { return read(e, s); });
}

Status read(const Node& n, std::vector<uint32_t>& out) {
    return read_array(n, out, [](const Node& e, uint32_t& v) { return read(e, v); });
}

Status read(const Node& n, std::map<std::string, std::string>& out) {
    return read_map(n, out, [](const Node& e, std::string& s) { return read(e, s); });
}

Status read_enum(const Node& n, std::string& out, std::span<const std::string_view> allowed,
                 std::string_view what) {
    std::string s;
    TRY(read(n, s));
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
        return n.fail("unknown " + std::string(what) + " '" + s + "'");
    out = std::move(s);
    return ok();
}

Status read_enum_list(const Node& n, std::vector<std::string>& out,
                      std::span<const std::string_view> allowed, std::string_view what) {
    return read_array(
        n, out, [&](const Node& e, std::string& s) { return read_enum(e, s, allowed, what); });
}

Result<Object> Object::of(const Node& n) {
    if (!n.value().is_object()) return n.fail("expected object");
    return Object(n);
}

std::optional<Node> Object::get(std::string_view key) const {
    auto it = node_.value().find(key);
    if (it == node_.value().end() || it->is_null()) return std::nullopt;
    return Node(*it, member_path(node_.path(), key));
}

Result<Node> Object::need(std::string_view key) const {
    if (auto n = get(key)) return *n;
    return error(ErrorKind::invalid, member_path(node_.path(), key) + ": required");
}

Status Object::req_enum(std::string_view key, std::string& out,
                        std::span<const std::string_view> allowed, std::string_view what) const {
    Node n = TRY(need(key));
    return read_enum(n, out, allowed, what);
}

Status Object::opt_enum(std::string_view key, std::string& out,
                        std::span<const std::string_view> allowed, std::string_view what) const {
    auto n = get(key);
    if (!n) return ok();
    // "" is Go's zero value for these optional strings: unset, as runc reads it.
    if (n->value().is_string() && n->value().get_ref<const std::string&>().empty()) {
        out.clear();
        return ok();
    }
    return read_enum(*n, out, allowed, what);
}

Status Object::opt_enum_list(std::string_view key, std::vector<std::string>& out,
                             std::span<const std::string_view> allowed,
                             std::string_view what) const {
    if (auto n = get(key)) return read_enum_list(*n, out, allowed, what);
    return ok();
}

}  // namespace berth::spec::jsonr
