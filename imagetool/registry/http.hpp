// The HTTP(S) client the registry code uses: one adapter over cpp-httplib + OpenSSL that
// catches every exception and never follows redirects on its own (the caller decides what
// headers may cross to another host).
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace berth::image {

struct Url {
    std::string scheme;  // "https" or "http"
    std::string host;    // no brackets for IPv6
    int port = 0;
    std::string target = "/";  // path and query

    static Result<Url> parse(std::string_view text);
    std::string origin() const;  // "https://host:port" (port always written)
    std::string host_port() const;
    std::string str() const { return origin() + target; }
    // A Location header value against this URL (absolute, or "/path" relative).
    Result<Url> resolve(std::string_view location) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
    int status = 0;
    Headers headers;  // names lower-case
    std::string body;
    // First value of a header (case-insensitive name), "" if absent.
    std::string header(std::string_view name) const;
    std::vector<std::string> header_all(std::string_view name) const;
};

struct TlsOptions {
    bool verify = true;
    // Directories searched for <host:port>/{*.crt, *.cert, *.key}; --cert-dir replaces them.
    std::vector<std::string> cert_dirs = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
    // --cert-dir: the files are in this directory itself (no <host:port>/ below it).
    std::string cert_dir;
};

// A request body: `length` bytes that read(offset, buf, n) produces (returning the count,
// or -1 with errno set); sent(bytes) is told how far the upload got.
struct Body {
    int64_t length = 0;
    std::string content_type;
    std::function<ssize_t(int64_t offset, char* buf, size_t n)> read;
    std::function<void(int64_t)> sent;
    static Body of(const std::string& data, std::string content_type);
};

class HttpClient {
  public:
    explicit HttpClient(TlsOptions tls);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // A request whose body is read whole; a body over `cap` bytes (by Content-Length or as it
    // arrives) fails with "response over <cap> bytes".
    Result<Response> request(const std::string& method, const Url& url, const Headers& headers,
                             size_t cap);
    // A GET whose body is streamed: on_headers sees status and headers first and returns
    // false to skip the body; for a 2xx it accepted, on_data gets the body chunks (return
    // false to abort). Non-2xx bodies are read into Response::body (up to 64 KiB).
    Result<Response> stream(const Url& url, const Headers& headers,
                            const std::function<bool(const Response&)>& on_headers,
                            const std::function<bool(const char*, size_t)>& on_data);
    // POST, PUT or PATCH with a body; the response body is read whole up to `cap` bytes.
    Result<Response> upload(const std::string& method, const Url& url, const Headers& headers,
                            const Body& body, size_t cap);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);
// Percent-encodes a query value.
std::string url_encode(std::string_view s);

}  // namespace berth::image
