// Blob and manifest uploads (distribution-spec push): HEAD to skip, cross-repository mount,
// monolithic PUT for small blobs, PATCH chunks with resume for large ones, manifest PUT.
//
// Upload sessions after a cut connection: the registry may have stored part of the request
// body, so the same request cannot simply be repeated. A chunked upload asks the session
// where it stands (GET on the upload URL: 204 with Range: 0-<last byte>) and continues from
// there; a session the registry no longer knows or refuses to resume (docker-registry
// cancels one whose size disagrees with the offset in its URL state) is started afresh.
// A monolithic PUT that was cut always starts a new session.
#include <unistd.h>

#include <cerrno>

#include "imagetool/registry/client.hpp"

namespace berth::image {

namespace {

constexpr size_t kMaxUploadAnswer = 64u << 10;

// "0-1234" or "bytes=0-1234": the last byte held, or -1 for an answer that names none.
int64_t range_end(const std::string& range) {
    size_t dash = range.rfind('-');
    if (dash == std::string::npos || dash + 1 >= range.size()) return -1;
    char* end = nullptr;
    long long v = std::strtoll(range.c_str() + dash + 1, &end, 10);
    if (!end || *end != '\0' || v < 0) return -1;
    return v;
}

Url with_digest(Url u, const spec::Digest& d) {
    u.target += (u.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
                url_encode(d.str());
    return u;
}

}  // namespace

Result<bool> RegistryClient::has_blob(const std::string& repo, const spec::Descriptor& d,
                                      const std::string& scope) {
    TRY(ping());
    Url u = url("/v2/" + repo + "/blobs/" + d.digest.str());
    auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) {
        return http.request("HEAD", u, auth, 0);
    }));
    if (r.status == 404) return false;
    if (r.status != 200) return error(registry_error(r));
    // A HEAD answer is only believed when it describes this blob: a registry (or a proxy)
    // that says 200 with another size or digest would leave the manifest dangling.
    auto cl = r.header("content-length");
    if (cl.empty() || std::strtoll(cl.c_str(), nullptr, 10) != d.size) return false;
    if (auto dcd = r.header("docker-content-digest"); !dcd.empty() && dcd != d.digest.str())
        return false;
    return true;
}

Result<bool> RegistryClient::upload_blob(const std::string& repo, const spec::Descriptor& d,
                                         const BlobBytes& bytes, const std::string& scope,
                                         const std::string& from, const UploadOptions& opts,
                                         const std::function<void(int64_t)>& progress) {
    TRY(ping());
    auto report = [&](int64_t n) {
        if (progress) progress(n);
    };
    Url loc;
    int64_t offset = 0;
    Url start_url = url("/v2/" + repo + "/blobs/uploads/");
    // POST: a new session (or, the first time with `from`, a mount). True when mounted.
    auto start = [&](bool mount) -> Result<bool> {
        for (;;) {
            Url u = start_url;
            if (mount)
                u.target += "?mount=" + url_encode(d.digest.str()) + "&from=" + url_encode(from);
            auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) {
                return http.upload("POST", u, auth, Body{}, kMaxUploadAnswer);
            }));
            if (mount && r.status == 201) return true;
            // A mount source the token may not read (or a registry that refuses mounts) is no
            // reason to fail: the blob is sent instead.
            if (mount &&
                (r.status == 401 || r.status == 403 || r.status == 404 || r.status == 405)) {
                mount = false;
                continue;
            }
            if (r.status != 202) return error(registry_error(r));
            std::string l = r.header("location");
            if (l.empty()) return error("upload session without Location");
            loc = TRY(u.resolve(l));
            offset = 0;
            report(0);
            return false;
        }
    };
    if (TRY(start(!from.empty()))) return true;

    auto read_at = [&bytes](int64_t base) {
        return [&bytes, base](int64_t off, char* buf, size_t n) -> ssize_t {
            return bytes(base + off, buf, n);
        };
    };

    if (d.size <= opts.monolithic_max) {
        bool cut = false;
        auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) -> Result<Response> {
            if (cut) {
                cut = false;
                TRY(start(false));
            }
            Body b;
            b.length = d.size;
            b.content_type = "application/octet-stream";
            b.read = read_at(0);
            b.sent = report;
            auto r = http.upload("PUT", with_digest(loc, d.digest), auth, b, kMaxUploadAnswer);
            if (!r && r.error().code() != 0) cut = true;
            // A 429/5xx may have come after part of the body was stored: a new session.
            if (r && (r->status == 429 || r->status >= 500)) cut = true;
            return r;
        }));
        if (r.status != 201 && r.status != 204) return error(registry_error(r));
        report(d.size);
        return false;
    }

    // Chunked. `cut`: the last PATCH may have left the session in an unknown state.
    bool cut = false;
    auto recover = [&]() -> Status {
        cut = false;
        auto st = send(scope, [&](HttpClient& http, const Headers& auth) {
            return http.request("GET", loc, auth, kMaxUploadAnswer);
        });
        if (st && st->status == 204) {
            int64_t end = range_end(st->header("range"));
            // docker-registry answers "0-0" both for an empty session and for one byte:
            // only a larger end is a position to continue from; anything else starts over.
            if (end > 0 && end < d.size) {
                if (auto l = st->header("location"); !l.empty()) loc = TRY(loc.resolve(l));
                offset = end + 1;
                report(offset);
                return ok();
            }
        }
        TRY(start(false));
        return ok();
    };
    int restarts = 0;
    while (offset < d.size) {
        auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) -> Result<Response> {
            if (cut) TRY(recover());
            int64_t n = std::min(opts.chunk, d.size - offset);
            if (n == 0) return Response{202, {}, {}};  // the session already holds it all
            Body b;
            b.length = n;
            b.content_type = "application/octet-stream";
            b.read = read_at(offset);
            int64_t base = offset;
            b.sent = [&, base](int64_t k) { report(base + k); };
            Headers h = auth;
            h.emplace_back("Content-Range",
                           std::to_string(offset) + "-" + std::to_string(offset + n - 1));
            auto r = http.upload("PATCH", loc, h, b, kMaxUploadAnswer);
            if (!r && r.error().code() != 0) cut = true;
            if (r && (r->status == 429 || r->status >= 500)) cut = true;
            return r;
        }));
        if (r.status == 416 || r.status == 404) {
            // The session moved on without us (a PATCH that arrived although its answer was
            // lost) or is gone: ask where it stands, a bounded number of times.
            if (++restarts > opts_.max_attempts) return error(registry_error(r));
            cut = true;
            TRY(recover());
            continue;
        }
        if (r.status != 202) return error(registry_error(r));
        if (auto l = r.header("location"); !l.empty()) loc = TRY(loc.resolve(l));
        int64_t end = range_end(r.header("range"));
        int64_t sent = std::min(opts.chunk, d.size - offset);
        offset = end >= 0 ? end + 1 : offset + sent;
        report(offset);
    }
    auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) -> Result<Response> {
        return http.upload("PUT", with_digest(loc, d.digest), auth, Body{}, kMaxUploadAnswer);
    }));
    if (r.status == 404 && TRY(has_blob(repo, d, scope)))
        return false;  // an earlier, cut PUT completed the session
    if (r.status != 201 && r.status != 204) return error(registry_error(r));
    return false;
}

Result<spec::Digest> RegistryClient::put_manifest(const std::string& repo,
                                                  const std::string& reference,
                                                  const std::string& body,
                                                  const std::string& media_type,
                                                  const std::string& scope) {
    TRY(ping());
    Hasher h("sha256");
    h.update(body);
    spec::Digest digest = h.finish();
    Url u = url("/v2/" + repo + "/manifests/" + reference);
    auto r = TRY(send(scope, [&](HttpClient& http, const Headers& auth) {
        return http.upload("PUT", u, auth, Body::of(body, media_type), kMaxUploadAnswer);
    }));
    if (r.status != 201 && r.status != 200 && r.status != 202) return error(registry_error(r));
    if (auto dcd = r.header("docker-content-digest"); !dcd.empty() && dcd != digest.str())
        return error("registry stored it as " + dcd + ", not " + digest.str());
    return digest;
}

}  // namespace berth::image
