// Strict reading of nlohmann::json values into C++ types, every error naming the JSON path.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec::jsonr {

using nlohmann::json;

// "a.b" for identifier-like keys, a["x.y"] otherwise (sysctl and annotation keys hold dots).
std::string member_path(const std::string& base, std::string_view key);
std::string element_path(const std::string& base, size_t index);

// Parses JSON text; the one place nlohmann's parse exceptions stop. Errors read
// "invalid JSON at line L, column C: <reason>".
Result<json> parse_text(const std::string& text);

// A JSON value and the path that reached it ("process.rlimits[1]"; "" is the document).
class Node {
  public:
    Node(const json& v, std::string path) : v_(&v), path_(std::move(path)) {}
    const json& value() const { return *v_; }
    const std::string& path() const { return path_; }
    // "path: what" (just "what" at the document root).
    Error fail(std::string_view what) const;

  private:
    const json* v_;
    std::string path_;
};

Status read(const Node& n, std::string& out);
Status read(const Node& n, bool& out);
Status read(const Node& n, std::vector<std::string>& out);
Status read(const Node& n, std::vector<uint32_t>& out);
Status read(const Node& n, std::map<std::string, std::string>& out);

const char* int_type_name(bool is_signed, size_t bytes);

// Integers: floats and strings are type errors, negative values for unsigned types are type
// errors, values past the type's range are "N out of range for uint32".
template <typename T>
requires std::is_integral_v<T> &&(!std::is_same_v<T, bool>)Status read(const Node& n, T& out) {
    const json& v = n.value();
    const char* name = int_type_name(std::is_signed_v<T>, sizeof(T));
    if constexpr (std::is_unsigned_v<T>) {
        if (!v.is_number_unsigned()) return n.fail("expected unsigned integer");
        uint64_t x = v.get<uint64_t>();
        if constexpr (sizeof(T) < sizeof(uint64_t)) {
            if (x > std::numeric_limits<T>::max())
                return n.fail(std::to_string(x) + " out of range for " + name);
        }
        out = static_cast<T>(x);
    } else {
        if (!v.is_number_integer()) return n.fail("expected integer");
        if (v.is_number_unsigned()) {
            uint64_t x = v.get<uint64_t>();
            if (x > static_cast<uint64_t>(std::numeric_limits<T>::max()))
                return n.fail(std::to_string(x) + " out of range for " + name);
            out = static_cast<T>(x);
        } else {
            int64_t x = v.get<int64_t>();
            if constexpr (sizeof(T) < sizeof(int64_t)) {
                if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
                    return n.fail(std::to_string(x) + " out of range for " + name);
            }
            out = static_cast<T>(x);
        }
    }
    return ok();
}

// A string that must be one of `allowed`; otherwise "unknown <what> 'value'".
Status read_enum(const Node& n, std::string& out, std::span<const std::string_view> allowed,
                 std::string_view what);
Status read_enum_list(const Node& n, std::vector<std::string>& out,
                      std::span<const std::string_view> allowed, std::string_view what);

// An array whose elements `f(const Node&, T&) -> Status` reads.
template <typename T, typename F>
Status read_array(const Node& n, std::vector<T>& out, F&& f) {
    if (!n.value().is_array()) return n.fail("expected array");
    out.clear();
    out.reserve(n.value().size());
    for (size_t i = 0; i < n.value().size(); i++) {
        T item{};
        TRY(f(Node(n.value()[i], element_path(n.path(), i)), item));
        out.push_back(std::move(item));
    }
    return ok();
}

// An object used as a map from string to values `f` reads.
template <typename T, typename F>
Status read_map(const Node& n, std::map<std::string, T>& out, F&& f) {
    if (!n.value().is_object()) return n.fail("expected object");
    out.clear();
    for (auto it = n.value().begin(); it != n.value().end(); ++it) {
        T item{};
        TRY(f(Node(it.value(), member_path(n.path(), it.key())), item));
        out.emplace(it.key(), std::move(item));
    }
    return ok();
}

// A JSON object being read member by member. A member that is absent or null counts as
// absent (Go's encoding/json leaves the zero value for null, and engines write null).
// Unknown members are ignored: the runtime-spec requires it.
class Object {
  public:
    static Result<Object> of(const Node& n);

    const Node& node() const { return node_; }
    std::optional<Node> get(std::string_view key) const;
    Result<Node> need(std::string_view key) const;

    template <typename T>
    Status req(std::string_view key, T& out) const {
        Node n = TRY(need(key));
        return read(n, out);
    }
    template <typename T>
    Status opt(std::string_view key, T& out) const {
        if (auto n = get(key)) return read(*n, out);
        return ok();
    }
    template <typename T>
    Status opt(std::string_view key, std::optional<T>& out) const {
        if (auto n = get(key)) {
            T v{};
            TRY(read(*n, v));
            out = std::move(v);
        }
        return ok();
    }
    // Members read by a function `f(const Node&, T&) -> Status` (structs).
    template <typename T, typename F>
    Status req_with(std::string_view key, T& out, F&& f) const {
        Node n = TRY(need(key));
        return f(n, out);
    }
    template <typename T, typename F>
    Status opt_with(std::string_view key, T& out, F&& f) const {
        if (auto n = get(key)) return f(*n, out);
        return ok();
    }
    template <typename T, typename F>
    Status opt_with(std::string_view key, std::optional<T>& out, F&& f) const {
        if (auto n = get(key)) {
            T v{};
            TRY(f(*n, v));
            out = std::move(v);
        }
        return ok();
    }
    template <typename T, typename F>
    Status opt_array(std::string_view key, std::vector<T>& out, F&& f) const {
        if (auto n = get(key)) return read_array(*n, out, f);
        return ok();
    }
    template <typename T, typename F>
    Status opt_map(std::string_view key, std::map<std::string, T>& out, F&& f) const {
        if (auto n = get(key)) return read_map(*n, out, f);
        return ok();
    }
    Status req_enum(std::string_view key, std::string& out,
                    std::span<const std::string_view> allowed, std::string_view what) const;
    // An optional enum; "" counts as unset.
    Status opt_enum(std::string_view key, std::string& out,
                    std::span<const std::string_view> allowed, std::string_view what) const;
    Status opt_enum_list(std::string_view key, std::vector<std::string>& out,
                         std::span<const std::string_view> allowed, std::string_view what) const;

  private:
    explicit Object(Node n) : node_(std::move(n)) {}
    Node node_;
};

}  // namespace berth::spec::jsonr
