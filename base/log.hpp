// Logging: plain text or runc-compatible JSON lines, to stderr or a --log file.
#pragma once

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { debug, info, warning, error };
enum class Format { text, json };

// Sets where log lines go. path empty means stderr. The file is opened O_APPEND so that a
// shim reading the last line sees whole lines. Returns false (errno set) if it cannot open.
bool init(const std::string& path, Format format, bool debug);
// Uses an already-open fd (e.g. a pipe the parent passed); does not take ownership.
void set_fd(int fd);
bool debug_enabled();
// True when init() opened a --log file (errors then go there as well as to stderr).
bool has_file();
Format format();

// One line: text "time=... level=error msg=..." or JSON {"level","msg","time"}.
void write(Level level, std::string_view msg);
inline void debug(std::string_view m) {
    if (debug_enabled()) write(Level::debug, m);
}
inline void info(std::string_view m) {
    write(Level::info, m);
}
inline void warn(std::string_view m) {
    write(Level::warning, m);
}
inline void error(std::string_view m) {
    write(Level::error, m);
}

// RFC 3339 timestamp with nanoseconds, UTC, as runc's logrus writes it.
std::string rfc3339_now();
// JSON-escapes a string (without quotes).
std::string json_escape(std::string_view s);

}  // namespace berth::log
