#include "base/passwd.hpp"

#include <charconv>

#include "base/mountinfo.hpp"

namespace berth {
namespace {

template <typename F>
void each_line(const std::string& text, F f) {
    for (auto& line : split(text, '\n')) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        f(line);
    }
}

}  // namespace

bool parse_id(const std::string& s, uint32_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
    std::vector<PasswdEntry> out;
    each_line(text, [&](const std::string& line) {
        auto f = split(line, ':');
        if (f.size() < 6) return;  // name:pw:uid:gid:gecos:home[:shell]
        PasswdEntry e;
        e.name = f[0];
        if (!parse_id(f[2], e.uid) || !parse_id(f[3], e.gid)) return;
        e.home = f[5];
        out.push_back(std::move(e));
    });
    return out;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
    std::vector<GroupEntry> out;
    each_line(text, [&](const std::string& line) {
        auto f = split(line, ':');
        if (f.size() < 4) return;
        GroupEntry e;
        e.name = f[0];
        if (!parse_id(f[2], e.gid)) return;
        if (!f[3].empty())
            for (auto& m : split(f[3], ','))
                if (!m.empty()) e.members.push_back(m);
        out.push_back(std::move(e));
    });
    return out;
}

}  // namespace berth
