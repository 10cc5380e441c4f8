// cpp-httplib adapter: the one place its exceptions are caught and its types converted.
#include "imagetool/registry/http.hpp"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <httplib.h>
#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/file.hpp"

namespace berth::image {

namespace {

std::string lower(std::string s) {
    for (auto& c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (struct dirent* e = ::readdir(d))
            out.emplace_back(e->d_name);
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool ends_with(std::string_view s, std::string_view suf) {
    return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

Response convert(const httplib::Response& r) {
    Response out;
    out.status = r.status;
    for (const auto& [k, v] : r.headers)
        out.headers.emplace_back(lower(k), v);
    return out;
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
    Url u;
    auto bad = [&](const char* why) {
        return error("invalid URL '" + std::string(text) + "': " + why);
    };
    size_t sep = text.find("://");
    if (sep == std::string_view::npos) return bad("no scheme");
    u.scheme = lower(std::string(text.substr(0, sep)));
    if (u.scheme != "https" && u.scheme != "http") return bad("scheme must be http or https");
    std::string_view rest = text.substr(sep + 3);
    size_t slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        u.target = std::string(rest.substr(slash));
        if (size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
        if (u.target.empty() || u.target[0] != '/') u.target = "/" + u.target;
    }
    if (authority.find('@') != std::string_view::npos) return bad("user info not allowed");
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad("unterminated IPv6 address");
        u.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return bad("garbage after IPv6 address");
            port = authority.substr(close + 2);
        }
    } else {
        size_t colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return bad("no host");
    if (!port.empty()) {
        int p = 0;
        for (char c : port) {
            if (!std::isdigit(static_cast<unsigned char>(c)) || p > 65535) return bad("bad port");
            p = p * 10 + (c - '0');
        }
        if (p <= 0 || p > 65535) return bad("bad port");
        u.port = p;
    } else {
        u.port = u.scheme == "https" ? 443 : 80;
    }
    return u;
}

std::string Url::host_port() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

std::string Url::origin() const {
    return scheme + "://" + host_port();
}

Result<Url> Url::resolve(std::string_view loc) const {
    if (loc.find("://") != std::string_view::npos) return Url::parse(loc);
    if (loc.substr(0, 2) == "//") return Url::parse(scheme + ":" + std::string(loc));
    Url u = *this;
    if (!loc.empty() && loc.front() == '/') {
        u.target = std::string(loc);
    } else {
        std::string base = target.substr(0, target.find('?'));
        u.target = base.substr(0, base.rfind('/') + 1) + std::string(loc);
    }
    return u;
}

std::string Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return "";
}

std::vector<std::string> Response::header_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

struct HttpClient::Impl {
    TlsOptions tls;
    std::map<std::string, std::unique_ptr<httplib::ClientImpl>> clients;

    Result<httplib::ClientImpl*> client(const Url& u) {
        std::string key = u.origin();
        if (auto it = clients.find(key); it != clients.end()) return it->second.get();
        std::unique_ptr<httplib::ClientImpl> c;
        if (u.scheme == "https") {
            std::string ca_files, cert, key_file;
            std::vector<std::string> cas;
            // certs.d/<host:port>/ as podman and docker lay it out.
            std::vector<std::string> dirs;
            if (!tls.cert_dir.empty()) {
                dirs.push_back(tls.cert_dir);
            } else {
                for (const auto& base : tls.cert_dirs) {
                    dirs.push_back(base + "/" + u.host_port());
                    // A default port is also looked up under the bare host name.
                    if (u.port == 443) dirs.push_back(base + "/" + u.host);
                }
            }
            {
                for (const auto& dir : dirs) {
                    for (const auto& f : list_dir(dir)) {
                        if (ends_with(f, ".crt")) cas.push_back(dir + "/" + f);
                        if (ends_with(f, ".cert") && cert.empty()) {
                            std::string k = f.substr(0, f.size() - 5) + ".key";
                            if (!path_exists(dir + "/" + k))
                                return error("client certificate '" + dir + "/" + f +
                                             "' has no key '" + k + "'");
                            cert = dir + "/" + f;
                            key_file = dir + "/" + k;
                        }
                    }
                }
            }
            auto ssl = cert.empty()
                           ? std::make_unique<httplib::SSLClient>(u.host, u.port)
                           : std::make_unique<httplib::SSLClient>(u.host, u.port, cert, key_file);
            if (!ssl->is_valid()) return error("TLS setup for " + u.host_port() + " failed");
            // The system bundle costs tens of milliseconds to parse: only when it is used
            // (an unverified connection, --tls-verify=false, never looks at it).
            if (tls.verify) {
                X509_STORE* store = X509_STORE_new();
                X509_STORE_set_default_paths(store);
                for (const auto& ca : cas)
                    if (X509_STORE_load_locations(store, ca.c_str(), nullptr) != 1) {
                        X509_STORE_free(store);
                        return error("cannot load CA certificate '" + ca + "'");
                    }
                ssl->set_ca_cert_store(store);
            }
            ssl->enable_server_certificate_verification(tls.verify);
            c = std::move(ssl);
        } else {
            c = std::make_unique<httplib::ClientImpl>(u.host, u.port);
        }
        c->set_keep_alive(true);
        // Small requests (HEAD, POST, a manifest PUT: headers and body in two writes) must not
        // wait for the peer's delayed ACK under Nagle's algorithm; Go's clients (skopeo)
        // set TCP_NODELAY too.
        c->set_tcp_nodelay(true);
        c->set_follow_location(false);
        c->set_decompress(false);
        c->set_connection_timeout(30, 0);
        c->set_read_timeout(60, 0);
        c->set_write_timeout(30, 0);
        auto* raw = c.get();
        clients[key] = std::move(c);
        return raw;
    }
};

HttpClient::HttpClient(TlsOptions tls) : impl_(std::make_unique<Impl>()) {
    impl_->tls = std::move(tls);
}
HttpClient::~HttpClient() = default;

namespace {

httplib::Headers to_httplib(const Headers& h) {
    httplib::Headers out;
    for (const auto& [k, v] : h)
        out.emplace(k, v);
    if (out.find("User-Agent") == out.end())
        out.emplace("User-Agent", std::string("berth-image/") + BERTH_VERSION);
    // Blob bytes must arrive exactly as stored: digests are over the encoded form.
    out.emplace("Accept-Encoding", "identity");
    return out;
}

Error transport_error(const Url& u, httplib::Error e, long verify_result) {
    std::string msg = u.origin() + ": " + httplib::to_string(e);
    if (e == httplib::Error::SSLServerVerification && verify_result != 0)
        msg += std::string(" (") + X509_verify_cert_error_string(verify_result) + ")";
    // What OpenSSL saw, e.g. the server's alert about our client certificate, which with
    // TLS 1.3 arrives on the first read after the handshake and would otherwise say only
    // "Read". The queue can hold several; the first is the cause.
    bool said = e == httplib::Error::SSLServerVerification && verify_result != 0;
    if (unsigned long ssl = ERR_peek_error(); ssl != 0 && u.scheme == "https" && !said) {
        if (const char* reason = ERR_reason_error_string(ssl)) {
            msg += std::string(" (TLS: ") + reason + ")";
            // Go's TLS answers a missing or unknown client certificate with "bad
            // certificate"; other TLS 1.3 servers send "certificate required".
            std::string_view r(reason);
            if (r.find("alert certificate required") != std::string_view::npos ||
                r.find("alert bad certificate") != std::string_view::npos)
                msg +=
                    "; the registry refused the client certificate or wants one "
                    "(client.cert and client.key in certs.d/" +
                    u.host_port() + "/)";
        }
    }
    ERR_clear_error();
    return Error(e == httplib::Error::Connection ? ECONNREFUSED : EIO, msg);
}

}  // namespace

Result<Response> HttpClient::request(const std::string& method, const Url& url,
                                     const Headers& headers, size_t cap) {
    try {
        auto* c = TRY(impl_->client(url));
        ERR_clear_error();  // so that a failure below reports its own OpenSSL error only
        Response out;
        bool over = false;
        httplib::Result r{nullptr, httplib::Error::Unknown};
        if (method == "HEAD") {
            r = c->Head(url.target, to_httplib(headers));
        } else {
            r = c->Get(
                url.target, to_httplib(headers),
                [&](const httplib::Response& resp) {
                    auto cl = resp.get_header_value("Content-Length");
                    if (!cl.empty() && std::strtoull(cl.c_str(), nullptr, 10) > cap) {
                        over = true;
                        return false;
                    }
                    return true;
                },
                [&](const char* data, size_t n) {
                    if (out.body.size() + n > cap) {
                        over = true;
                        return false;
                    }
                    out.body.append(data, n);
                    return true;
                });
        }
        if (over) return error(url.str() + ": response over " + std::to_string(cap) + " bytes");
        if (!r) {
            long vr = 0;
            if (auto* s = dynamic_cast<httplib::SSLClient*>(c)) vr = s->get_openssl_verify_result();
            return transport_error(url, r.error(), vr);
        }
        Response conv = convert(r.value());
        conv.body = std::move(out.body);
        return conv;
    } catch (const std::exception& e) {
        return error(url.str() + ": " + e.what());
    }
}

Result<Response> HttpClient::stream(const Url& url, const Headers& headers,
                                    const std::function<bool(const Response&)>& on_headers,
                                    const std::function<bool(const char*, size_t)>& on_data) {
    try {
        auto* c = TRY(impl_->client(url));
        ERR_clear_error();  // so that a failure below reports its own OpenSSL error only
        Response head;
        bool accepted = false;
        bool aborted = false;
        std::string err_body;
        auto r = c->Get(
            url.target, to_httplib(headers),
            [&](const httplib::Response& resp) {
                head = convert(resp);
                if (resp.status >= 200 && resp.status < 300) {
                    accepted = on_headers(head);
                    return accepted;
                }
                return true;
            },
            [&](const char* data, size_t n) {
                if (accepted) {
                    if (!on_data(data, n)) {
                        aborted = true;
                        return false;
                    }
                    return true;
                }
                if (err_body.size() + n > (64u << 10)) return false;
                err_body.append(data, n);
                return true;
            });
        if (aborted) {
            head.body = std::move(err_body);
            return head;
        }
        if (!r) {
            // A stream cut by the peer after headers: return what we know so the caller
            // can resume; with no headers at all it is a transport error.
            // EPIPE, not code 0: a cut body is a transport failure that send() retries, and
            // the retry resumes with Range from the bytes already kept.
            if (head.status != 0 && r.error() == httplib::Error::Read)
                return Error(EPIPE, url.str() + ": connection closed during the body");
            if (head.status != 0 && !accepted) return head;
            long vr = 0;
            if (auto* s = dynamic_cast<httplib::SSLClient*>(c)) vr = s->get_openssl_verify_result();
            return transport_error(url, r.error(), vr);
        }
        Response out = convert(r.value());
        out.body = std::move(err_body);
        return out;
    } catch (const std::exception& e) {
        return error(url.str() + ": " + e.what());
    }
}

Body Body::of(const std::string& data, std::string content_type) {
    Body b;
    b.length = int64_t(data.size());
    b.content_type = std::move(content_type);
    // The string outlives the request: callers pass a body they hold for its duration.
    const std::string* p = &data;
    b.read = [p](int64_t off, char* buf, size_t n) -> ssize_t {
        if (off >= int64_t(p->size())) return 0;
        size_t k = std::min(n, p->size() - size_t(off));
        std::memcpy(buf, p->data() + off, k);
        return ssize_t(k);
    };
    return b;
}

Result<Response> HttpClient::upload(const std::string& method, const Url& url,
                                    const Headers& headers, const Body& body, size_t cap) {
    try {
        auto* c = TRY(impl_->client(url));
        ERR_clear_error();
        int read_errno = 0;
        std::vector<char> buf;
        httplib::ContentProvider provider = [&](size_t off, size_t len,
                                                httplib::DataSink& sink) -> bool {
            if (buf.empty()) buf.resize(1u << 20);
            size_t want = std::min(len, buf.size());
            ssize_t n = body.read ? body.read(int64_t(off), buf.data(), want) : -1;
            if (n <= 0) {
                // A body shorter than its declared length is a local error, not the peer's.
                read_errno = n < 0 ? errno : EIO;
                return false;
            }
            if (!sink.write(buf.data(), size_t(n))) return false;
            if (body.sent) body.sent(int64_t(off) + n);
            return true;
        };
        httplib::Headers h = to_httplib(headers);
        httplib::Result r{nullptr, httplib::Error::Unknown};
        size_t len = size_t(body.length);
        if (method == "PUT") {
            r = len == 0 ? c->Put(url.target, h, "", body.content_type)
                         : c->Put(url.target, h, len, provider, body.content_type);
        } else if (method == "PATCH") {
            r = len == 0 ? c->Patch(url.target, h, "", body.content_type)
                         : c->Patch(url.target, h, len, provider, body.content_type);
        } else if (method == "POST") {
            r = len == 0 ? c->Post(url.target, h, "", body.content_type)
                         : c->Post(url.target, h, len, provider, body.content_type);
        } else {
            return error("unsupported upload method '" + method + "'");
        }
        // A local read failure is not the network's: code 0 so that nobody retries it.
        if (read_errno != 0)
            return Error::msg(url.str() +
                              ": reading the upload body: " + std::strerror(read_errno));
        if (!r) {
            long vr = 0;
            if (auto* s = dynamic_cast<httplib::SSLClient*>(c)) vr = s->get_openssl_verify_result();
            return transport_error(url, r.error(), vr);
        }
        Response conv = convert(r.value());
        if (r->body.size() > cap)
            return error(url.str() + ": response over " + std::to_string(cap) + " bytes");
        conv.body = r->body;
        return conv;
    } catch (const std::exception& e) {
        return error(url.str() + ": " + e.what());
    }
}

std::string base64_encode(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    if (in.empty()) return out;
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
    out.resize(size_t(std::max(n, 0)));
    return out;
}

// Standard alphabet only (RFC 4648 section 4), '=' only as the last one or two characters
// of the text; unpadded text (as some tools write auth.json) is padded here first. The
// checks are ours because EVP_DecodeBlock trims and tolerates more than auth.json should
// carry, and reports padding as zero bytes instead of shortening its output.
Result<std::string> base64_decode(std::string_view in) {
    auto bad = [](const char* why) { return error(std::string("invalid base64: ") + why); };
    std::string text(in);
    if (text.size() % 4 == 1) return bad("length");
    if (text.size() % 4 != 0 && text.find('=') == std::string::npos)
        text.append(4 - text.size() % 4, '=');
    if (text.size() % 4 != 0) return bad("length");
    size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < text.size() - pad; i++) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '=') return bad("'=' before the end");
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
        if (!ok) return bad("character outside the alphabet");
    }
    std::string out(text.size() / 4 * 3, '\0');
    if (text.empty()) return out;
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
    if (n < 0 || size_t(n) != out.size()) return bad("rejected by OpenSSL");
    out.resize(out.size() - pad);
    return out;
}

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace berth::image
