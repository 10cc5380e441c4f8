// Registry client: scheme choice, authenticated requests with retries, manifests.
#include "imagetool/registry/client.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "imagetool/digest.hpp"
#include "imagetool/reference.hpp"

namespace berth::image {

using json = nlohmann::json;

std::string registry_error(const Response& r) {
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array() &&
        !j["errors"].empty() && j["errors"][0].is_object()) {
        const json& e = j["errors"][0];
        if (e.contains("message") && e["message"].is_string() &&
            !e["message"].get<std::string>().empty())
            return e["message"].get<std::string>();
        if (e.contains("code") && e["code"].is_string()) return e["code"].get<std::string>();
    }
    switch (r.status) {
        case 401:
            return "unauthorized";
        case 403:
            return "denied";
        case 404:
            return "not found";
        case 413:
            return "request entity too large (413)";
        case 415:
            return "unsupported media type (415)";
        case 429:
            return "too many requests";
        default:
            return "HTTP " + std::to_string(r.status);
    }
}

spec::Descriptor FetchedManifest::descriptor() const {
    spec::Descriptor d;
    d.media_type = spec::media_type_of(kind);
    d.digest = digest;
    d.size = int64_t(body.size());
    return d;
}

RegistryClient::RegistryClient(std::string registry, RegistryOptions opts)
    : registry_(std::move(registry)), opts_(std::move(opts)) {
    host_ = registry_ == kDefaultRegistry ? "registry-1.docker.io" : registry_;
}

TlsOptions RegistryClient::tls() const {
    TlsOptions t;
    t.verify = opts_.tls_verify.value_or(true);
    t.cert_dir = opts_.cert_dir;
    if (!opts_.certs_d.empty()) t.cert_dirs = opts_.certs_d;
    return t;
}

RegistryClient::Lease RegistryClient::lease() {
    {
        std::lock_guard<std::mutex> g(pool_mu_);
        if (!idle_.empty()) {
            auto http = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(http));
        }
    }
    return Lease(*this, std::make_unique<HttpClient>(tls()));
}

RegistryClient::Lease::~Lease() {
    std::lock_guard<std::mutex> g(owner_.pool_mu_);
    owner_.idle_.push_back(std::move(http_));
}

Url RegistryClient::url(const std::string& path) const {
    auto u = Url::parse(scheme_ + "://" + host_ + path);
    return u ? u.value() : Url{};
}

Status RegistryClient::ping() {
    if (pinged_.load(std::memory_order_acquire)) return ok();
    std::lock_guard<std::mutex> once(ping_mu_);
    if (pinged_.load(std::memory_order_acquire)) return ok();
    bool may_http = opts_.tls_verify == std::optional<bool>(false) ||
                    (!opts_.tls_verify && is_loopback_registry(registry_));
    auto conn = lease();
    HttpClient& http = *conn;
    Result<Response> r = error("no attempt");
    for (int attempt = 0; attempt < opts_.max_attempts; attempt++) {
        scheme_ = "https";
        r = http.request("GET", url("/v2/"), {}, 1u << 20);
        if (!r && may_http) {
            // Only a registry that answers /v2/ like a registry over plain HTTP counts: a
            // TLS server's "400 plain HTTP to an HTTPS port" keeps the HTTPS error.
            scheme_ = "http";
            auto plain = http.request("GET", url("/v2/"), {}, 1u << 20);
            if (plain && (plain->status == 200 || plain->status == 401))
                r = std::move(plain);
            else
                scheme_ = "https";
        }
        if (r && (r->status == 429 || r->status >= 500)) {
            std::this_thread::sleep_for(opts_.backoff * (1 << attempt));
            continue;
        }
        if (r || r.error().code() != ECONNREFUSED) break;
        std::this_thread::sleep_for(opts_.backoff * (1 << attempt));
    }
    if (!r) return r.error();
    if (r->status == 401) {
        auto hdr = r->header("www-authenticate");
        if (hdr.empty()) return error("registry answered 401 without a challenge");
        auto cs = TRY(parse_challenges(hdr));
        for (const auto& c : cs)
            if (c.scheme == "bearer" || c.scheme == "basic") {
                challenge_ = c;
                break;
            }
        if (!challenge_) return error("unsupported authentication scheme '" + cs[0].scheme + "'");
        if (challenge_->scheme == "basic") use_basic_ = true;
    } else if (r->status != 200) {
        return error("ping " + url("/v2/").str() + ": " + registry_error(*r));
    }
    pinged_.store(true, std::memory_order_release);
    return ok();
}

Status RegistryClient::fetch_token(const Challenge& c, const std::string& scope,
                                   const std::string& asked) {
    std::string realm = c.param("realm");
    if (realm.empty()) return error("Bearer challenge without realm");
    auto ru = TRY_CTX(Url::parse(realm), "token realm");
    // A token request may carry the user's password: never over plain HTTP, except to a
    // loopback registry that is itself plain HTTP (nothing to protect, nothing to downgrade).
    if (ru.scheme != "https" &&
        !(scheme_ == "http" && is_loopback_registry(registry_) && is_loopback_registry(ru.host)))
        return error("token realm '" + realm + "' is not https");
    std::string q;
    if (auto s = c.param("service"); !s.empty()) q += "service=" + url_encode(s);
    std::string sc = !asked.empty() ? asked : c.param("scope").empty() ? scope : c.param("scope");
    // The challenge may list several scopes separated by spaces.
    size_t start = 0;
    while (!sc.empty() && start <= sc.size()) {
        size_t sp = sc.find(' ', start);
        std::string one = sc.substr(start, sp == std::string::npos ? sp : sp - start);
        if (!one.empty()) q += (q.empty() ? "" : "&") + std::string("scope=") + url_encode(one);
        if (sp == std::string::npos) break;
        start = sp + 1;
    }
    if (!q.empty()) ru.target += (ru.target.find('?') == std::string::npos ? "?" : "&") + q;
    Headers h;
    if (opts_.creds && opts_.creds->username != "<token>")
        h.emplace_back("Authorization", "Basic " + base64_encode(opts_.creds->username + ":" +
                                                                 opts_.creds->password));
    auto r = TRY_CTX(lease()->request("GET", ru, h, kMaxToken), "token");
    if (r.status == 401 || r.status == 403)
        return error(
            "token server: " +
            std::string(opts_.creds ? "invalid username/password" : "authentication required") +
            " (" + registry_error(r) + ")");
    if (r.status != 200) return error("token server: " + registry_error(r));
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("token server: invalid JSON");
    std::string tok;
    for (const char* k : {"token", "access_token"})
        if (j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) {
            tok = j[k].get<std::string>();
            break;
        }
    if (tok.empty()) return error("token server: response has no token");
    // The token spec's default lifetime is 60 s. A shorter expires_in is honoured, not
    // rounded up to 60 as some clients do: a registry that means it would answer every
    // request past it with 401, costing a round trip each time.
    int64_t expires = 60;
    if (j.contains("expires_in") && j["expires_in"].is_number_integer() &&
        j["expires_in"].get<int64_t>() > 0)
        expires = std::min<int64_t>(j["expires_in"].get<int64_t>(), 7 * 24 * 3600);
    // Refreshed a little early (a tenth of its life, at most 5 s) so that a token does not
    // expire between the check and the registry reading it.
    std::chrono::milliseconds life = std::chrono::seconds(expires);
    std::chrono::milliseconds margin =
        std::min<std::chrono::milliseconds>(life / 10, std::chrono::milliseconds(5000));
    std::lock_guard<std::mutex> g(mu_);
    tokens_[scope] = Token{tok, std::chrono::steady_clock::now() + life - margin, sc};
    return ok();
}

Result<Headers> RegistryClient::auth_headers(const std::string& scope) {
    auto cached = [&](Headers& h) {
        std::lock_guard<std::mutex> g(mu_);
        if (use_basic_ && opts_.creds) {
            h.emplace_back("Authorization", "Basic " + base64_encode(opts_.creds->username + ":" +
                                                                     opts_.creds->password));
            return true;
        }
        auto it = tokens_.find(scope);
        if (it != tokens_.end() && it->second.expires > std::chrono::steady_clock::now()) {
            h.emplace_back("Authorization", "Bearer " + it->second.value);
            return true;
        }
        return false;
    };
    Headers h;
    if (cached(h)) return h;
    // A Bearer registry (as /v2/ said) gets a token before the request, not after a 401: on
    // the first request, and when the token expires mid-pull (fetched again for the scopes it
    // was asked for, which an insufficient_scope may have widened). One fetch at a time, so
    // parallel layer downloads share the new token.
    std::lock_guard<std::mutex> fetching(token_mu_);
    if (cached(h)) return h;
    std::optional<Challenge> c;
    std::string asked;
    {
        std::lock_guard<std::mutex> g(mu_);
        if (challenge_ && challenge_->scheme == "bearer") c = challenge_;
        if (auto it = tokens_.find(scope); it != tokens_.end()) asked = it->second.asked;
    }
    if (!c) return h;
    TRY(fetch_token(*c, scope, asked));
    cached(h);
    return h;
}

Status RegistryClient::handle_challenge(const Response& r, const std::string& scope,
                                        AuthRetries& retried) {
    auto hdr = r.header("www-authenticate");
    std::optional<Challenge> c;
    if (!hdr.empty()) {
        auto cs = TRY(parse_challenges(hdr));
        for (const auto& x : cs)
            if (x.scheme == "bearer" || x.scheme == "basic") {
                c = x;
                break;
            }
    }
    if (!c) {
        std::lock_guard<std::mutex> g(mu_);
        c = challenge_;
    } else if (c->scheme == "bearer") {
        // A registry whose /v2/ was open but whose repositories are not: remember where tokens
        // come from so that later requests (and expiries) get one before they are sent. The
        // scope and error belong to this request only.
        std::lock_guard<std::mutex> g(mu_);
        if (!challenge_) {
            challenge_ = c;
            challenge_->params.erase("scope");
            challenge_->params.erase("error");
        }
    }
    if (!c) return error("unauthorized: " + registry_error(r));
    if (c->scheme == "basic") {
        if (!opts_.creds) return error("authentication required");
        if (retried.basic) return error("unauthorized: invalid username/password");
        retried.basic = true;
        std::lock_guard<std::mutex> g(mu_);
        use_basic_ = true;
        return ok();
    }
    // A 401 without a token, or for an expired or revoked one (invalid_token), gets one fresh
    // token. insufficient_scope (the token does not cover what this request needs: a
    // registry may ask for more scopes mid-pull, e.g. for a blob mounted from another
    // repository) gets one token for the scope the challenge names. A second refusal of
    // either kind is final.
    if (c->param("error") == "insufficient_scope") {
        std::string wanted = c->param("scope").empty() ? scope : c->param("scope");
        if (retried.scope)
            return error(std::string(opts_.creds ? "unauthorized" : "authentication required") +
                         ": insufficient_scope: a token for '" + wanted + "' was refused too (" +
                         registry_error(r) + ")");
        retried.scope = true;
        return fetch_token(*c, scope);
    }
    if (retried.bearer)
        return error(opts_.creds ? "unauthorized: " + registry_error(r)
                                 : "authentication required");
    retried.bearer = true;
    return fetch_token(*c, scope);
}

Result<Response> RegistryClient::send(const std::string& scope, const Sender& sender) {
    TRY(ping());
    AuthRetries retried;
    int auth_rounds = 0;
    for (int attempt = 0;;) {
        auto auth = TRY(auth_headers(scope));
        auto r = sender(*lease(), auth);
        std::chrono::milliseconds wait = opts_.backoff * (1 << std::min(attempt, 6));
        if (!r) {
            // Logical errors (digest mismatch, over a cap) are final; I/O errors retry.
            if (r.error().code() == 0 || ++attempt >= opts_.max_attempts) return r;
            std::this_thread::sleep_for(wait);
            continue;
        }
        if (r->status == 401 && auth_rounds++ < 3) {
            TRY(handle_challenge(*r, scope, retried));
            continue;
        }
        if (r->status == 429 || (r->status >= 500 && r->status <= 599)) {
            if (++attempt >= opts_.max_attempts) return r;
            if (auto ra = r->header("retry-after"); !ra.empty()) {
                char* end = nullptr;
                long s = std::strtol(ra.c_str(), &end, 10);
                if (end && *end == '\0' && s >= 0)
                    wait = std::chrono::milliseconds(
                        std::min<long>(s, long(opts_.max_retry_after.count())) * 1000);
            }
            std::this_thread::sleep_for(wait);
            continue;
        }
        return r;
    }
}

Status RegistryClient::verify_login() {
    TRY(ping());
    if (!challenge_) return ok();  // a registry without auth accepts anyone
    if (!opts_.creds) return error("no credentials given");
    if (challenge_->scheme == "bearer") return fetch_token(*challenge_, challenge_->param("scope"));
    auto r = TRY(send("", [&](HttpClient& http, const Headers& auth) {
        return http.request("GET", url("/v2/"), auth, 1u << 20);
    }));
    if (r.status != 200) return error(registry_error(r));
    return ok();
}

Result<FetchedManifest> RegistryClient::get_manifest(const std::string& repo,
                                                     const std::string& reference) {
    TRY(ping());
    std::string scope = "repository:" + repo + ":pull";
    std::string accept = std::string(spec::kMediaTypeOciManifest) + ", " +
                         spec::kMediaTypeOciIndex + ", " + spec::kMediaTypeDockerManifest + ", " +
                         spec::kMediaTypeDockerManifestList;
    Url u = url("/v2/" + repo + "/manifests/" + reference);
    auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) {
        Headers h = auth;
        h.emplace_back("Accept", accept);
        return http.request("GET", u, h, kMaxManifest);
    }));
    if (r.status != 200) return error(registry_error(r));
    FetchedManifest m;
    m.content_type = r.header("content-type");
    m.body = std::move(r.body);
    std::optional<spec::Digest> pinned;
    if (reference.find(':') != std::string::npos) pinned = TRY(spec::Digest::parse(reference));
    Hasher h(pinned ? pinned->algorithm : "sha256");
    h.update(m.body);
    m.digest = h.finish();
    if (pinned && *pinned != m.digest)
        return error("manifest digest " + m.digest.str() + " does not match " + pinned->str());
    if (auto dcd = r.header("docker-content-digest"); !dcd.empty() && !pinned) {
        auto d = spec::Digest::parse(dcd);
        if (d && d->algorithm == m.digest.algorithm && *d != m.digest)
            return error("manifest digest " + m.digest.str() +
                         " does not match Docker-Content-Digest " + dcd);
    }
    m.kind = TRY(spec::classify_manifest(m.body, m.content_type));
    return m;
}

}  // namespace berth::image
