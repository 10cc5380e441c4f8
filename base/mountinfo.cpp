#include "base/mountinfo.hpp"

#include "base/file.hpp"
#include "base/in_root.hpp"

namespace berth {
namespace {

bool octal(char c) {
    return c >= '0' && c <= '7';
}

}  // namespace

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(sep, start);
        if (end == std::string_view::npos) end = s.size();
        out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
    std::map<std::string, std::string> out;
    for (auto& line : split(text, '\n')) {
        auto a = line.find(':');
        if (a == std::string::npos) continue;
        auto b = line.find(':', a + 1);
        if (b == std::string::npos) continue;
        std::string ctls = line.substr(a + 1, b - a - 1);
        std::string path = line.substr(b + 1);
        if (ctls.empty()) {
            out[""] = path;
            continue;
        }
        for (const auto& c : split(ctls, ','))
            out[c] = path;
    }
    return out;
}

Result<std::map<std::string, std::string>> read_proc_cgroup(const std::string& path) {
    return parse_proc_cgroup(TRY_CTX(read_file(path), "read " + path));
}

std::string unescape_mountinfo(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) &&
            octal(s[i + 3])) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
    std::vector<MountInfo> out;
    for (auto& line : split(text, '\n')) {
        if (line.empty()) continue;
        auto f = split(line, ' ');
        if (f.size() < 10) continue;
        MountInfo m;
        try {
            m.id = std::stoi(f[0]);
            m.parent = std::stoi(f[1]);
        } catch (...) {
            continue;
        }
        m.dev = f[2];
        m.root = unescape_mountinfo(f[3]);
        m.mount_point = unescape_mountinfo(f[4]);
        m.options = split(f[5], ',');
        size_t i = 6;
        for (; i < f.size() && f[i] != "-"; ++i)
            m.optional.push_back(f[i]);
        if (i + 3 >= f.size()) continue;
        m.fstype = f[i + 1];
        m.source = unescape_mountinfo(f[i + 2]);
        m.super_options = split(f[i + 3], ',');
        out.push_back(std::move(m));
    }
    return out;
}

Result<std::vector<MountInfo>> read_mountinfo(const std::string& path) {
    auto text = TRY_CTX(read_file(path), path);
    return parse_mountinfo(text);
}

std::string clean_path(std::string_view p) {
    std::vector<std::string> out;
    for (auto& c : path_components(p)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    std::string s;
    for (auto& c : out)
        s += "/" + c;
    return s.empty() ? "/" : s;
}

}  // namespace berth
