// Blob downloads: streamed to a resumable partial file, verified while arriving, redirects
// followed by hand so credentials never reach another host.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.hpp"
#include "imagetool/registry/client.hpp"

namespace berth::image {

namespace {

bool is_redirect(int s) {
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

// Opens and locks the partial file for a digest. Another puller of the same blob holds the
// lock until it has renamed the file into blobs/; then the path names a new file (or none),
// which the inode comparison detects.
Result<UniqueFd> open_partial(const std::string& path) {
    for (int i = 0; i < 100; i++) {
        // O_APPEND: a resumed download continues after the bytes already hashed.
        UniqueFd fd(
            ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd) return sys_error("open '" + path + "'");
        while (::flock(fd.get(), LOCK_EX) < 0)
            if (errno != EINTR) return sys_error("lock '" + path + "'");
        struct stat a {
        }, b{};
        if (::fstat(fd.get(), &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return fd;
    }
    return error("cannot lock '" + path + "'");
}

}  // namespace

Status RegistryClient::fetch_blob(const std::string& repo, const spec::Descriptor& d, Store& store,
                                  const std::function<void(int64_t)>& progress) {
    if (store.has_blob(d.digest)) return ok();
    TRY(ping());
    std::string partial = store.partial_path(d.digest);
    auto fd = TRY(open_partial(partial));
    if (store.has_blob(d.digest)) return ok();  // another pull finished it while we waited

    Hasher hasher(d.digest.algorithm);
    int64_t have = 0;
    {
        struct stat st {};
        if (::fstat(fd.get(), &st) < 0) return sys_error("stat '" + partial + "'");
        if (st.st_size > d.size) {
            if (::ftruncate(fd.get(), 0) < 0) return sys_error("truncate '" + partial + "'");
        } else if (st.st_size > 0) {
            // Resume: the bytes already here are part of the digest.
            char buf[1 << 16];
            ssize_t n;
            while ((n = ::pread(fd.get(), buf, sizeof buf, have)) > 0) {
                hasher.update(buf, size_t(n));
                have += n;
            }
            if (n < 0) return sys_error("read '" + partial + "'");
        }
    }
    if (progress) progress(have);

    // httplib hands the body over in 4 KiB pieces: batch them into fewer, larger writes.
    // Bytes in `pending` are already hashed and counted in `have`; flush() runs before any
    // Range is computed from `have`, so the file and the hash never disagree.
    constexpr size_t kWriteBuffer = 1u << 20;
    constexpr size_t kWriteback = 8u << 20;
    int64_t synced = have;
    std::string pending;
    pending.reserve(kWriteBuffer + (64u << 10));
    auto flush = [&]() -> Status {
        if (pending.empty()) return ok();
        auto st = write_all(fd.get(), pending);
        pending.clear();
        if (!st) return Error::msg("write '" + partial + "': " + st.error().str());
        // Start writeback as the file grows so that the fsync before the rename into blobs/
        // finds little left to write (asynchronous; errors surface at that fsync).
        if (have - synced >= int64_t(kWriteback)) {
            (void)::sync_file_range(fd.get(), synced, have - synced, SYNC_FILE_RANGE_WRITE);
            synced = have;
        }
        if (progress) progress(have);
        return ok();
    };
    auto reset = [&]() -> Status {
        pending.clear();
        synced = 0;
        if (::ftruncate(fd.get(), 0) < 0) return sys_error("truncate '" + partial + "'");
        hasher = Hasher(d.digest.algorithm);
        have = 0;
        return ok();
    };

    std::string scope = "repository:" + repo + ":pull";
    Url start = url("/v2/" + repo + "/blobs/" + d.digest.str());
    Error fatal;
    bool failed = false;
    auto sender = [&](HttpClient& http, const Headers& auth) -> Result<Response> {
        if (have == d.size && d.size > 0) return Response{200, {}, {}};
        Url u = start;
        Headers h = auth;
        for (int hop = 0; hop <= 5; hop++) {
            Headers req = h;
            if (have > 0) req.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
            bool bad_range = false;
            auto r = http.stream(
                u, req,
                [&](const Response& resp) {
                    if (resp.status == 206) {
                        std::string cr = resp.header("content-range");
                        std::string want = "bytes " + std::to_string(have) + "-";
                        if (cr.compare(0, want.size(), want) != 0) {
                            bad_range = true;
                            return false;
                        }
                    } else if (have > 0) {
                        // The server ignored Range: start over.
                        if (auto st = reset(); !st) {
                            fatal = st.error();
                            failed = true;
                            return false;
                        }
                        if (progress) progress(0);
                    }
                    return true;
                },
                [&](const char* data, size_t n) {
                    if (have + int64_t(n) > d.size) {
                        fatal = error("blob " + d.digest.str() + ": server sent more than the " +
                                      std::to_string(d.size) + " bytes declared");
                        failed = true;
                        return false;
                    }
                    pending.append(data, n);
                    hasher.update(data, n);
                    have += int64_t(n);
                    if (pending.size() >= kWriteBuffer) {
                        if (auto st = flush(); !st) {
                            fatal = st.error();
                            failed = true;
                            return false;
                        }
                    }
                    return true;
                });
            if (auto st = flush(); !st && !failed) {
                fatal = st.error();
                failed = true;
            }
            if (failed) return fatal;
            if (bad_range) {
                TRY(reset());
                return Error(EAGAIN, "server answered Range with another range");
            }
            if (!r) return r;
            if (is_redirect(r->status)) {
                std::string loc = r->header("location");
                if (loc.empty()) return error("redirect without Location");
                Url next = TRY(u.resolve(loc));
                // Credentials are for the registry only: a CDN or other host gets none.
                if (next.origin() != u.origin())
                    std::erase_if(h, [](const auto& kv) {
                        return kv.first == "Authorization" || kv.first == "authorization";
                    });
                u = next;
                continue;
            }
            if (r->status == 416) {
                TRY(reset());
                return Error(EAGAIN, "range not satisfiable");
            }
            if (r->status >= 200 && r->status < 300 && have < d.size)
                return Error(EPIPE, "blob " + d.digest.str() + ": truncated at " +
                                        std::to_string(have) + " of " + std::to_string(d.size) +
                                        " bytes");
            return r;
        }
        return error("too many redirects");
    };
    auto r = send(scope, sender);
    if (!r) {
        if (failed) ::unlink(partial.c_str());  // corrupt content cannot be resumed
        return r.error().with_context("blob " + d.digest.str());
    }
    if (r->status < 200 || r->status >= 300)
        return error("blob " + d.digest.str() + ": " + registry_error(*r));
    if (have != d.size)
        return error("blob " + d.digest.str() + ": got " + std::to_string(have) + " of " +
                     std::to_string(d.size) + " bytes");
    spec::Digest got = hasher.finish();
    if (got != d.digest) {
        ::unlink(partial.c_str());
        return error("blob " + d.digest.str() + ": digest mismatch (content has " + got.str() +
                     ")");
    }
    if (::fsync(fd.get()) < 0) return sys_error("fsync '" + partial + "'");
    return store.install_verified(partial, d.digest);
}

}  // namespace berth::image
