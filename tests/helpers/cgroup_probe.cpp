// cgroup_probe: drives the cgroups library directly (as root) for the integration tests:
// create a cgroup, put a child in it, apply limits, freeze, kill, read stats, destroy.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "base/file.hpp"
#include "runtime/cgroups/cgroups.hpp"

using namespace berth;
using namespace berth::cgroups;

namespace {

int fail(const std::string& what) {
    std::fprintf(stderr, "cgroup_probe: %s\n", what.c_str());
    return 1;
}

Result<Manager> load(const std::string& state) {
    std::string text = TRY(read_file(state));
    try {
        return Manager::from_state(nlohmann::json::parse(text));
    } catch (const nlohmann::json::exception& e) {
        return error(std::string("parse ") + state + ": " + e.what());
    }
}

Result<spec::Resources> resources(const std::string& file) {
    std::string text = TRY(read_file(file == "-" ? "/dev/stdin" : file));
    return spec::parse_resources(text);
}

void print_warnings(const Manager& m) {
    for (const auto& w : m.warnings())
        std::fprintf(stderr, "warning: %s\n", w.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: cgroup_probe layout | create STATE PATH [RESOURCES] | spawn STATE "
                     "CMD... | update STATE RESOURCES | freeze|thaw|frozen|pids|stats|oom-kills"
                     "|destroy STATE | kill STATE SIG | oom-wait STATE SECONDS\n");
        return 2;
    }
    std::string cmd = argv[1];
    if (cmd == "layout") {
        auto l = detect();
        if (!l) return fail(l.error().str());
        std::printf("%s %s\n", mode_name(l->mode), l->unified.c_str());
        return 0;
    }
    if (argc < 3) return fail("missing STATE");
    std::string state = argv[2];
    if (cmd == "create") {
        if (argc < 4) return fail("missing PATH");
        auto m = Manager::create(argv[3], "probe", false);
        if (!m) return fail(m.error().str());
        if (auto st = m->make(); !st) return fail(st.error().str());
        if (argc > 4) {
            auto r = resources(argv[4]);
            if (!r) return fail(r.error().str());
            if (auto st = m->apply(*r); !st) {
                (void)m->destroy(true);
                return fail(st.error().str());
            }
        }
        print_warnings(*m);
        if (auto st = write_file_atomic(state, m->to_state().dump()); !st)
            return fail(st.error().str());
        return 0;
    }
    auto m = load(state);
    if (!m) return fail(m.error().str());
    if (cmd == "spawn") {
        if (argc < 4) return fail("missing CMD");
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return fail("pipe");
        pid_t pid = ::fork();
        if (pid == 0) {
            char c;
            ::close(p[1]);
            if (::read(p[0], &c, 1) != 1) _exit(127);
            ::setsid();
            ::execvp(argv[3], argv + 3);
            _exit(127);
        }
        ::close(p[0]);
        auto st = m->add_pid(pid);
        if (!st) {
            ::kill(pid, SIGKILL);
            return fail(st.error().str());
        }
        (void)!::write(p[1], "x", 1);
        std::printf("%d\n", pid);
        return 0;
    }
    if (cmd == "update") {
        if (argc < 4) return fail("missing RESOURCES");
        auto r = resources(argv[3]);
        if (!r) return fail(r.error().str());
        if (auto st = m->apply(*r); !st) return fail(st.error().str());
        print_warnings(*m);
        return 0;
    }
    Status st = ok();
    if (cmd == "freeze") {
        st = m->freeze();
    } else if (cmd == "thaw") {
        st = m->thaw();
    } else if (cmd == "frozen") {
        auto f = m->frozen();
        if (!f) return fail(f.error().str());
        std::printf("%s\n", *f ? "frozen" : "thawed");
    } else if (cmd == "pids") {
        auto p = m->pids();
        if (!p) return fail(p.error().str());
        for (pid_t x : *p)
            std::printf("%d\n", x);
    } else if (cmd == "stats") {
        auto s = m->stats();
        if (!s) return fail(s.error().str());
        std::printf("%s\n", s->dump().c_str());
    } else if (cmd == "oom-kills") {
        auto n = m->oom_kills();
        if (!n) return fail(n.error().str());
        std::printf("%llu\n", static_cast<unsigned long long>(*n));
    } else if (cmd == "oom-wait") {
        auto fd = m->oom_notify_fd();
        if (!fd) return fail(fd.error().str());
        std::printf("ready\n");
        std::fflush(stdout);
        struct pollfd pfd = {fd->get(), POLLIN, 0};
        int r = ::poll(&pfd, 1, argc > 3 ? std::atoi(argv[3]) * 1000 : 10000);
        if (r <= 0) return fail("no OOM event");
        std::printf("oom\n");
    } else if (cmd == "v2-devices") {
        // The eBPF filter on the cgroup2 directory, even where v1 devices is mounted (hybrid).
        if (argc < 4) return fail("missing RESOURCES");
        auto r = resources(argv[3]);
        if (!r) return fail(r.error().str());
        st = v2::devices(m->v2_path(), r->devices);
    } else if (cmd == "kill") {
        st = m->kill_all(argc > 3 ? std::atoi(argv[3]) : SIGKILL);
    } else if (cmd == "destroy") {
        st = m->destroy(true);
        if (st) ::unlink(state.c_str());
    } else {
        return fail("unknown command '" + cmd + "'");
    }
    if (!st) return fail(st.error().str());
    return 0;
}
