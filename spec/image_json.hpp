// Strict JSON field readers for the image-spec types: every failure names the JSON path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec::jsonr {

using json = nlohmann::json;

// Parses text without exceptions; "<what>: invalid JSON" on failure.
Result<json> parse(const std::string& text, const char* what);

// "a.b" / "b" at the top level, and "a[3]".
std::string key_path(const std::string& path, const char* key);
std::string index_path(const std::string& path, size_t i);
Error field_error(const std::string& path, const std::string& msg);

// Each reader looks up obj[key]; absent or JSON null leaves `out` untouched unless the field
// is required. A value of the wrong type is an error naming "path.key".
Status object(const json& v, const std::string& path);
const json* member(const json& obj, const char* key);
Status str(const json& obj, const char* key, const std::string& path, std::string& out,
           bool required = false);
Status i64(const json& obj, const char* key, const std::string& path, int64_t& out,
           bool required = false);
Status boolean(const json& obj, const char* key, const std::string& path, bool& out);
Status opt_boolean(const json& obj, const char* key, const std::string& path,
                   std::optional<bool>& out);
Status str_list(const json& obj, const char* key, const std::string& path,
                std::vector<std::string>& out);
Status opt_str_list(const json& obj, const char* key, const std::string& path,
                    std::optional<std::vector<std::string>>& out);
Status str_map(const json& obj, const char* key, const std::string& path,
               std::map<std::string, std::string>& out);
// An object used as a set ({"80/tcp": {}}): its keys, in order.
Status key_set(const json& obj, const char* key, const std::string& path,
               std::vector<std::string>& out);

}  // namespace berth::spec::jsonr
