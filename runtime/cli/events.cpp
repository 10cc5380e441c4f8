// berth events: container statistics (--stats once, or every --interval) and OOM
// notifications, one JSON object a line in runc's shape {"type","id","data"}.
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "runtime/cli/cgroup_util.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"

namespace berth::cli {

namespace {

// Go's time.ParseDuration for the units runc users write: "5s", "100ms", "1m30s", "1.5h".
Result<int64_t> parse_duration_ms(const std::string& s) {
    if (s.empty()) return error("invalid duration ''");
    double total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.'))
            ++j;
        if (j == i) return error("invalid duration '" + s + "'");
        double v = std::stod(s.substr(i, j - i));
        size_t k = j;
        while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k])))
            ++k;
        std::string unit = s.substr(j, k - j);
        double ms;
        if (unit == "ns")
            ms = v / 1e6;
        else if (unit == "us" || unit == "µs")
            ms = v / 1e3;
        else if (unit == "ms")
            ms = v;
        else if (unit == "s")
            ms = v * 1e3;
        else if (unit == "m")
            ms = v * 60e3;
        else if (unit == "h")
            ms = v * 3600e3;
        else
            return error("invalid duration '" + s + "': unknown unit '" + unit + "'");
        total += ms;
        i = k;
    }
    if (total <= 0) return error("duration must be greater than 0");
    return static_cast<int64_t>(total < 1 ? 1 : total);
}

void emit(const char* type, const std::string& id, const nlohmann::ordered_json* data) {
    // runc's field order: type, id, data (data left out when empty, as omitempty does).
    std::string line =
        std::string("{\"type\":\"") + type + "\",\"id\":" + nlohmann::json(id).dump();
    if (data) line += ",\"data\":" + data->dump();
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

}  // namespace

int cmd_events(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("interval", "value", "set the stats collection interval", "5s")
        .flag("stats", "display the container's stats then exit");
    int status;
    if (!parse_or_help(a, argv, "events [command options] <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "events");
    if (!id) return fail(id.error());
    auto interval = parse_duration_ms(a.get("interval"));
    if (!interval) return fail(interval.error().with_context("--interval"));
    // Read-only: no lock held, so a long-running `events` never blocks delete or update.
    auto c = open_container_cgroup(g.root, *id, false);
    if (!c) return fail(c.error());
    if (!c->alive) return fail(error("container with id " + *id + " is not running"));
    if (a.get_bool("stats")) {
        auto s = c->cg.stats();
        if (!s) return fail(s.error());
        emit("stats", *id, &*s);
        return 0;
    }
    auto oom_fd = c->cg.oom_notify_fd();
    auto first = c->cg.oom_kills();
    uint64_t ooms = first.ok() ? first.value() : 0;
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        if (!runtime::init_alive(c->state) || !c->cg.exists()) return 0;
        auto now = std::chrono::steady_clock::now();
        if (now >= next) {
            auto s = c->cg.stats();
            if (!s) return fail(s.error());
            emit("stats", *id, &*s);
            next = now + std::chrono::milliseconds(*interval);
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
        // Wake at least once a second to notice the container going away.
        int timeout = static_cast<int>(std::min<int64_t>(std::max<int64_t>(wait, 1), 1000));
        if (oom_fd) {
            struct pollfd p = {oom_fd->get(), POLLIN, 0};
            int r = ::poll(&p, 1, timeout);
            if (r > 0) {
                char buf[4096];
                (void)!::read(oom_fd->get(), buf, sizeof buf);
                // v2 wakes on any memory.events change: only a new oom_kill is an event. The
                // v1 eventfd also fires when the cgroup is removed.
                auto n = c->cg.oom_kills();
                if (n && *n > ooms) {
                    ooms = *n;
                    emit("oom", *id, nullptr);
                } else if (!n && c->cg.exists()) {
                    emit("oom", *id, nullptr);
                }
            }
        } else {
            ::usleep(static_cast<useconds_t>(timeout) * 1000);
        }
    }
}

}  // namespace berth::cli
