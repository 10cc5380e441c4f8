// A client for one registry (OCI distribution spec / Docker Registry API v2): ping, auth by
// challenge (Bearer tokens and Basic), manifests with Accept negotiation, and blobs streamed
// into the store with verification, resume, redirects and retries.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/registry/auth_challenge.hpp"
#include "imagetool/registry/credentials.hpp"
#include "imagetool/registry/http.hpp"
#include "imagetool/store/store.hpp"
#include "spec/image.hpp"

namespace berth::image {

inline constexpr size_t kMaxManifest = 4u << 20;
inline constexpr size_t kMaxToken = 1u << 20;

struct RegistryOptions {
    // Unset: verify TLS, and fall back to plain HTTP only for a loopback registry (podman's
    // rule). false: no verification and plain HTTP allowed. true: verified HTTPS only.
    std::optional<bool> tls_verify;
    std::string cert_dir;  // replaces /etc/{containers,docker}/certs.d when set
    // The certs.d roots searched for <host:port>/ (default /etc/containers/certs.d and
    // /etc/docker/certs.d); $BERTH_CERTS_D sets it from the command line.
    std::vector<std::string> certs_d;
    std::optional<Credentials> creds;
    int max_attempts = 5;
    std::chrono::milliseconds backoff{250};
    std::chrono::seconds max_retry_after{30};
};

struct UploadOptions {
    // Blobs up to this size go in one PUT; larger ones in PATCH chunks of `chunk` bytes.
    int64_t monolithic_max = 16 << 20;
    int64_t chunk = 64 << 20;
};

struct FetchedManifest {
    std::string body;
    std::string content_type;
    spec::Digest digest;
    spec::ManifestKind kind;
    spec::Descriptor descriptor() const;
};

class RegistryClient {
  public:
    // registry: the normalised name ("docker.io", "localhost:5000"); the API host is derived.
    RegistryClient(std::string registry, RegistryOptions opts);

    // GET /v2/: decides the scheme and learns the auth challenge.
    Status ping();
    // Authenticates with the configured credentials (for login): a token fetch for Bearer
    // registries, an authorised GET /v2/ for Basic ones.
    Status verify_login();
    // A manifest or index by tag or digest; the digest is computed and checked against the
    // reference (when pinned) and Docker-Content-Digest; the kind is classified strictly.
    Result<FetchedManifest> get_manifest(const std::string& repo, const std::string& reference);
    // Streams a blob into the store (no-op if present): partial file under the store's tmp/
    // (resumed with Range), size and digest checked as bytes arrive, renamed into blobs/
    // only when complete and verified. progress(bytes_so_far) after each chunk.
    Status fetch_blob(const std::string& repo, const spec::Descriptor& d, Store& store,
                      const std::function<void(int64_t)>& progress = {});

    const std::string& registry() const { return registry_; }

    // Push side (blob_upload.cpp). `scope` is the push's token scope: "repository:R:pull,push",
    // plus " repository:F:pull" when blobs are mounted from F.
    // HEAD: true when the registry has the blob at the descriptor's size.
    Result<bool> has_blob(const std::string& repo, const spec::Descriptor& d,
                          const std::string& scope);
    // Reads the blob's bytes at an offset for upload_blob: the count, 0 at EOF, -1 with errno.
    using BlobBytes = std::function<ssize_t(int64_t offset, char* buf, size_t n)>;
    // Uploads the blob read through `bytes` (monolithic up to opts.monolithic_max, else PATCH
    // chunks that resume after a cut connection); with `from`, first asks for a cross-repository
    // mount. Returns true when mounted rather than uploaded.
    Result<bool> upload_blob(const std::string& repo, const spec::Descriptor& d,
                             const BlobBytes& bytes, const std::string& scope,
                             const std::string& from, const UploadOptions& opts,
                             const std::function<void(int64_t)>& progress = {});
    // PUT of a manifest or index under a tag or digest; returns the digest the registry
    // reports (checked against the body's).
    Result<spec::Digest> put_manifest(const std::string& repo, const std::string& reference,
                                      const std::string& body, const std::string& media_type,
                                      const std::string& scope);

  private:
    using Sender = std::function<Result<Response>(HttpClient&, const Headers& auth)>;
    // Sends with the auth for `scope`, answering 401 challenges (once per kind) and retrying
    // transport errors, 429 and 5xx with backoff and Retry-After.
    Result<Response> send(const std::string& scope, const Sender& sender);
    Result<Headers> auth_headers(const std::string& scope);
    // What one request has already retried after a 401 (each at most once).
    struct AuthRetries {
        bool bearer = false;  // a fresh token after a 401 / invalid_token
        bool scope = false;   // a token for the scope an insufficient_scope challenge names
        bool basic = false;   // Basic credentials
    };
    Status handle_challenge(const Response& r, const std::string& scope, AuthRetries& retried);
    // Fetches a token for the scopes `asked` (else the challenge's scope, else `scope`) and
    // keeps it under `scope`.
    Status fetch_token(const Challenge& c, const std::string& scope, const std::string& asked = "");
    TlsOptions tls() const;
    Url url(const std::string& path) const;

    // Connections are kept alive and reused: each HttpClient holds one connection per origin
    // and serves one request at a time, so a request leases an idle one (or makes one) and
    // gives it back. As many connections per host as requests ever ran at once (the pull's
    // or push's worker threads), not one per request.
    class Lease {
      public:
        Lease(RegistryClient& owner, std::unique_ptr<HttpClient> http)
            : owner_(owner), http_(std::move(http)) {}
        ~Lease();
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        HttpClient& operator*() { return *http_; }
        HttpClient* operator->() { return http_.get(); }

      private:
        RegistryClient& owner_;
        std::unique_ptr<HttpClient> http_;
    };
    Lease lease();
    std::mutex pool_mu_;
    std::vector<std::unique_ptr<HttpClient>> idle_;

    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
        std::string asked;  // the scopes requested for it (space-separated)
    };

    std::string registry_;
    std::string host_;
    RegistryOptions opts_;
    std::string scheme_ = "https";
    // Parallel uploads and downloads all call ping() first: one of them pings, the others wait
    // for it rather than racing on scheme_ and challenge_ (and each sending its own /v2/).
    std::atomic<bool> pinged_{false};
    std::mutex ping_mu_;
    std::mutex mu_;
    std::mutex token_mu_;                 // held while fetching a token before a request
    std::optional<Challenge> challenge_;  // what /v2/ (or a later 401) asked for
    std::map<std::string, Token> tokens_;
    bool use_basic_ = false;
};

// The registry's error message from an error body ({"errors":[{"code","message"}]}), or
// "HTTP <status>".
std::string registry_error(const Response& r);

}  // namespace berth::image
