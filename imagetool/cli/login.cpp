// berth-image login: check credentials against a registry and store them in auth.json.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "base/args.hpp"
#include "base/file.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/registry_flags.hpp"
#include "imagetool/reference.hpp"

namespace berth::image::cli {

namespace {

std::string read_line_noecho(const char* prompt) {
    std::fprintf(stderr, "%s", prompt);
    termios old{};
    bool tty = ::tcgetattr(0, &old) == 0;
    if (tty) {
        termios t = old;
        t.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(0, TCSANOW, &t);
    }
    std::string line;
    std::getline(std::cin, line);
    if (tty) {
        ::tcsetattr(0, TCSANOW, &old);
        std::fprintf(stderr, "\n");
    }
    return line;
}

}  // namespace

int cmd_login(const GlobalOptions&, const std::vector<std::string>& argv) {
    Args a;
    add_registry_flags(a, false);
    a.option("username,u", "USER", "user name")
        .option("password,p", "PASS",
                "password (visible to other users in ps: prefer --password-stdin)")
        .flag("password-stdin", "read the password from standard input")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("login: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image login [options] REGISTRY\n\n%s", a.help().c_str());
        return 0;
    }
    if (a.positionals().size() != 1) {
        report_error("login: expected exactly one registry");
        return 125;
    }
    const std::string& text = a.positionals()[0];
    auto fail = [&](const Error& e) {
        report_error("login '" + text + "': " + e.str());
        return 1;
    };
    auto registry = normalize_registry(text);
    if (!registry) return fail(registry.error());
    Credentials c;
    c.username = a.get("username");
    if (a.has("password") && a.get_bool("password-stdin")) {
        report_error("login: --password and --password-stdin are exclusive");
        return 125;
    }
    if (c.username.empty()) {
        if (!::isatty(0) || a.get_bool("password-stdin")) {
            report_error("login: --username is required");
            return 125;
        }
        std::fprintf(stderr, "Username: ");
        std::getline(std::cin, c.username);
    }
    if (a.get_bool("password-stdin")) {
        auto all = read_fd(0, 64u << 10);
        if (!all) return fail(all.error());
        c.password = *all;
        while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r'))
            c.password.pop_back();
    } else if (a.has("password")) {
        c.password = a.get("password");
    } else if (::isatty(0)) {
        c.password = read_line_noecho("Password: ");
    } else {
        report_error("login: no password given (use --password-stdin)");
        return 125;
    }
    if (c.username.empty() || c.password.empty()) {
        report_error("login: user name and password must not be empty");
        return 125;
    }
    auto ro = registry_options(a, *registry, false);
    if (!ro) return fail(ro.error());
    ro->creds = c;
    RegistryClient client(*registry, *ro);
    if (auto st = client.verify_login(); !st) return fail(st.error());
    std::string file = default_authfile(a.get("authfile"));
    if (auto st = store_credentials(file, *registry, c); !st) return fail(st.error());
    std::printf("Login Succeeded!\n");
    return 0;
}

}  // namespace berth::image::cli
