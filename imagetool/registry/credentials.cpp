// Credentials from auth.json files and docker-credential helpers.
#include "imagetool/registry/credentials.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/http.hpp"

extern char** environ;

namespace berth::image {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxAuthFile = 1u << 20;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

Result<std::optional<json>> load_json(const std::string& path) {
    if (!path_exists(path)) return std::optional<json>();
    auto text = TRY(read_file(path, kMaxAuthFile));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("'" + path + "': invalid JSON");
    return std::optional<json>(std::move(j));
}

// An auths key ("https://index.docker.io/v1/", "quay.io/ns/repo", "localhost:5000") belongs
// to a registry when its host part normalises to that registry.
bool key_matches(const std::string& key, const std::string& registry) {
    auto n = normalize_registry(key);
    return n && *n == registry;
}

Result<std::optional<Credentials>> from_auths(const json& file, const std::string& path,
                                              const std::string& registry) {
    auto it = file.find("auths");
    if (it == file.end()) return std::optional<Credentials>();
    if (!it->is_object()) return error("'" + path + "': auths: expected object");
    for (auto e = it->begin(); e != it->end(); ++e) {
        if (!key_matches(e.key(), registry)) continue;
        if (!e.value().is_object())
            return error("'" + path + "': auths." + e.key() + ": expected object");
        Credentials c;
        auto a = e.value().find("auth");
        if (a != e.value().end() && a->is_string() && !a->get<std::string>().empty()) {
            auto dec = base64_decode(a->get<std::string>());
            if (!dec) return error("'" + path + "': auths." + e.key() + ".auth: invalid base64");
            size_t colon = dec->find(':');
            if (colon == std::string::npos)
                return error("'" + path + "': auths." + e.key() + ".auth: expected user:password");
            c.username = dec->substr(0, colon);
            c.password = dec->substr(colon + 1);
        }
        auto t = e.value().find("identitytoken");
        if (t != e.value().end() && t->is_string() && !t->get<std::string>().empty()) {
            c.username = "<token>";
            c.password = t->get<std::string>();
        }
        if (!c.username.empty()) return std::optional<Credentials>(c);
    }
    return std::optional<Credentials>();
}

// Runs "docker-credential-<helper> get" with the server URL on stdin.
Result<std::optional<Credentials>> from_helper(const std::string& helper,
                                               const std::string& registry) {
    std::string prog = "docker-credential-" + helper;
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) return sys_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char* argv[] = {prog.data(), const_cast<char*>("get"), nullptr};
    pid_t pid;
    int rc = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    UniqueFd w(in[1]), r(out[0]);
    if (rc != 0) return Error::sys(rc, "run credential helper '" + prog + "'");
    std::string server = registry == kDefaultRegistry ? "https://index.docker.io/v1/" : registry;
    (void)write_all(w.get(), server);
    w.reset();
    auto text = read_fd(r.get(), 1u << 20);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!text) return text.error();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        // Helpers say "credentials not found in native keychain" and exit 1: not an error.
        if (text->find("not found") != std::string::npos) return std::optional<Credentials>();
        return error("credential helper '" + prog + "' failed");
    }
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("Username") || !j.contains("Secret") ||
        !j["Username"].is_string() || !j["Secret"].is_string())
        return error("credential helper '" + prog + "': invalid output");
    return std::optional<Credentials>(
        Credentials{j["Username"].get<std::string>(), j["Secret"].get<std::string>()});
}

Result<std::optional<Credentials>> from_file(const std::string& path, const std::string& registry,
                                             bool docker_config) {
    auto file = TRY(load_json(path));
    if (!file) return std::optional<Credentials>();
    const json& j = *file;
    if (docker_config) {
        if (auto h = j.find("credHelpers"); h != j.end() && h->is_object())
            for (auto e = h->begin(); e != h->end(); ++e)
                if (key_matches(e.key(), registry) && e.value().is_string())
                    return from_helper(e.value().get<std::string>(), registry);
    }
    auto c = TRY(from_auths(j, path, registry));
    if (c) return c;
    if (docker_config) {
        if (auto s = j.find("credsStore");
            s != j.end() && s->is_string() && !s->get<std::string>().empty())
            return from_helper(s->get<std::string>(), registry);
    }
    return std::optional<Credentials>();
}

}  // namespace

Result<Credentials> parse_creds(const std::string& text) {
    size_t colon = text.find(':');
    Credentials c;
    c.username = text.substr(0, colon);
    if (colon != std::string::npos) c.password = text.substr(colon + 1);
    if (c.username.empty()) return error("--creds: expected user:password");
    return c;
}

std::string default_authfile(const std::string& flag) {
    if (!flag.empty()) return flag;
    if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) return f;
    if (auto x = env("XDG_RUNTIME_DIR"); !x.empty()) return x + "/containers/auth.json";
    return "/run/containers/" + std::to_string(::getuid()) + "/auth.json";
}

Result<std::optional<Credentials>> lookup_credentials(const std::string& registry,
                                                      const std::string& authfile_flag) {
    if (!authfile_flag.empty())
        return from_file(authfile_flag, registry, false).context("auth file");
    std::vector<std::string> files;
    if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
    files.push_back(default_authfile(""));
    for (const auto& f : files) {
        auto c = TRY_CTX(from_file(f, registry, false), "auth file");
        if (c) return c;
    }
    std::string docker = env("DOCKER_CONFIG");
    docker = docker.empty() ? env("HOME") + "/.docker/config.json" : docker + "/config.json";
    if (!env("HOME").empty() || !env("DOCKER_CONFIG").empty())
        return from_file(docker, registry, true).context("docker config");
    return std::optional<Credentials>();
}

Status store_credentials(const std::string& authfile, const std::string& registry,
                         const Credentials& creds) {
    auto existing = TRY(load_json(authfile));
    json j = existing ? *existing : json::object();
    if (!j.contains("auths") || !j["auths"].is_object()) j["auths"] = json::object();
    // Drop other spellings of the same registry so lookup cannot find a stale one first.
    for (auto it = j["auths"].begin(); it != j["auths"].end();)
        it = key_matches(it.key(), registry) ? j["auths"].erase(it) : std::next(it);
    j["auths"][registry] = {{"auth", base64_encode(creds.username + ":" + creds.password)}};
    std::string dir = authfile.substr(0, authfile.rfind('/'));
    if (!dir.empty() && dir != authfile) TRY(mkdir_p(dir, 0700));
    return write_file_atomic(authfile, j.dump(1, '\t') + "\n", 0600);
}

Result<bool> remove_credentials(const std::string& authfile, const std::string& registry) {
    auto existing = TRY(load_json(authfile));
    if (!existing) return false;
    json j = *existing;
    bool removed = false;
    if (j.contains("auths") && j["auths"].is_object()) {
        for (auto it = j["auths"].begin(); it != j["auths"].end();) {
            if (registry.empty() || key_matches(it.key(), registry)) {
                it = j["auths"].erase(it);
                removed = true;
            } else {
                ++it;
            }
        }
    }
    if (removed) TRY(write_file_atomic(authfile, j.dump(1, '\t') + "\n", 0600));
    return removed;
}

}  // namespace berth::image
