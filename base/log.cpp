// Logging to stderr or a log file, in runc's text or JSON shape.
#include "base/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

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

void write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        off += size_t(n);
    }
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

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (unsigned char c : s) {
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
    write_all(g_fd, line);
}

}  // namespace berth::log
