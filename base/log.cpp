// Logging to stderr or a log file, in runc's text or JSON shape.
#include "base/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "base/file.hpp"

namespace berth::log {
namespace {
int g_fd = 2;
bool g_own = false;
Format g_format = Format::text;
bool g_debug = false;

const char* level_name(Level l) {
    switch (l) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warning:
            return "warning";
        case Level::error:
            return "error";
    }
    return "info";
}

}  // namespace

bool init(const std::string& path, Format format, bool debug) {
    g_format = format;
    g_debug = debug;
    if (path.empty()) return true;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    if (g_own) ::close(g_fd);
    g_fd = fd;
    g_own = true;
    return true;
}

void set_fd(int fd) {
    if (g_own) ::close(g_fd);
    g_fd = fd;
    g_own = false;
}

bool debug_enabled() {
    return g_debug;
}
bool has_file() {
    return g_own;
}
Format format() {
    return g_format;
}

std::string rfc3339_now() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

namespace {
// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) > 0x9F) return 0;  // UTF-16 surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
        if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}
}  // namespace

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            // A message may carry bytes from anywhere (a path in the bundle, a hook's
            // stderr). Invalid UTF-8 would make the line invalid JSON, which containerd then
            // cannot read: each bad byte becomes U+FFFD, as Go's encoding/json writes it.
            size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        ++i;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char b[8];
                    snprintf(b, sizeof b, "\\u%04x", c);
                    out += b;
                } else {
                    out += char(c);
                }
        }
    }
    return out;
}

void write(Level level, std::string_view msg) {
    std::string line;
    if (g_format == Format::json) {
        line = "{\"level\":\"";
        line += level_name(level);
        line += "\",\"msg\":\"";
        line += json_escape(msg);
        line += "\",\"time\":\"";
        line += rfc3339_now();
        line += "\"}\n";
    } else {
        line = "time=\"" + rfc3339_now() + "\" level=" + level_name(level) + " msg=\"" +
               json_escape(msg) + "\"\n";
    }
    (void)write_all(g_fd, line);  // a log that cannot be written is not worth failing for
}

}  // namespace berth::log
