// /etc/passwd and /etc/group text, parsed once for the runtime (HOME, `ps` user names) and the
// image tool (USER and --chown resolution in an image's own files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

struct PasswdEntry {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string home;
};
struct GroupEntry {
    std::string name;
    uint32_t gid = 0;
    std::vector<std::string> members;
};

// Comment lines, blank lines and lines without every field or with a non-numeric id are
// skipped; CRLF line ends are accepted.
std::vector<PasswdEntry> parse_passwd(const std::string& text);
std::vector<GroupEntry> parse_group(const std::string& text);
// A uid or gid as the files write it: decimal digits only, within 32 bits.
bool parse_id(const std::string& s, uint32_t& out);

}  // namespace berth
