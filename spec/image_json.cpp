// Strict JSON field readers: type checks before every access, so nlohmann never throws here.
#include "spec/image_json.hpp"

namespace berth::spec::jsonr {

Result<json> parse(const std::string& text, const char* what) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error(ErrorKind::invalid, std::string(what) + ": invalid JSON");
    return j;
}

std::string key_path(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : path + "." + key;
}

std::string index_path(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

Error field_error(const std::string& path, const std::string& msg) {
    return Error(ErrorKind::invalid,
                 (path.empty() ? std::string("(document)") : path) + ": " + msg);
}

Status object(const json& v, const std::string& path) {
    if (!v.is_object()) return field_error(path, "expected object");
    return ok();
}

const json* member(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

namespace {
Status missing(const std::string& p) {
    return field_error(p, "required field missing");
}
}  // namespace

Status str(const json& obj, const char* key, const std::string& path, std::string& out,
           bool required) {
    const json* v = member(obj, key);
    if (!v) return required ? missing(key_path(path, key)) : ok();
    if (!v->is_string()) return field_error(key_path(path, key), "expected string");
    out = v->get_ref<const std::string&>();
    return ok();
}

Status i64(const json& obj, const char* key, const std::string& path, int64_t& out, bool required) {
    const json* v = member(obj, key);
    if (!v) return required ? missing(key_path(path, key)) : ok();
    if (v->is_number_unsigned()) {
        uint64_t u = v->get<uint64_t>();
        if (u > uint64_t(INT64_MAX)) return field_error(key_path(path, key), "out of range");
        out = int64_t(u);
        return ok();
    }
    if (!v->is_number_integer()) return field_error(key_path(path, key), "expected integer");
    out = v->get<int64_t>();
    return ok();
}

Status boolean(const json& obj, const char* key, const std::string& path, bool& out) {
    const json* v = member(obj, key);
    if (!v) return ok();
    if (!v->is_boolean()) return field_error(key_path(path, key), "expected boolean");
    out = v->get<bool>();
    return ok();
}

Status opt_boolean(const json& obj, const char* key, const std::string& path,
                   std::optional<bool>& out) {
    const json* v = member(obj, key);
    if (!v) return ok();
    if (!v->is_boolean()) return field_error(key_path(path, key), "expected boolean");
    out = v->get<bool>();
    return ok();
}

Status str_list(const json& obj, const char* key, const std::string& path,
                std::vector<std::string>& out) {
    const json* v = member(obj, key);
    if (!v) return ok();
    std::string p = key_path(path, key);
    if (!v->is_array()) return field_error(p, "expected array of strings");
    out.clear();
    for (size_t i = 0; i < v->size(); i++) {
        const json& e = (*v)[i];
        if (!e.is_string()) return field_error(index_path(p, i), "expected string");
        out.push_back(e.get<std::string>());
    }
    return ok();
}

Status opt_str_list(const json& obj, const char* key, const std::string& path,
                    std::optional<std::vector<std::string>>& out) {
    if (!member(obj, key)) return ok();
    std::vector<std::string> v;
    TRY(str_list(obj, key, path, v));
    out = std::move(v);
    return ok();
}

Status str_map(const json& obj, const char* key, const std::string& path,
               std::map<std::string, std::string>& out) {
    const json* v = member(obj, key);
    if (!v) return ok();
    std::string p = key_path(path, key);
    if (!v->is_object()) return field_error(p, "expected object of strings");
    out.clear();
    for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it.value().is_string()) return field_error(p + "." + it.key(), "expected string");
        out[it.key()] = it.value().get<std::string>();
    }
    return ok();
}

Status key_set(const json& obj, const char* key, const std::string& path,
               std::vector<std::string>& out) {
    const json* v = member(obj, key);
    if (!v) return ok();
    std::string p = key_path(path, key);
    if (!v->is_object()) return field_error(p, "expected object");
    out.clear();
    for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it.value().is_object() && !it.value().is_null())
            return field_error(p + "." + it.key(), "expected object");
        out.push_back(it.key());
    }
    return ok();
}

}  // namespace berth::spec::jsonr
