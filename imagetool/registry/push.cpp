// push: collect the image's blobs from the store, upload them in parallel, then the manifests.
#include "imagetool/registry/push.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <set>

#include "base/unique_fd.hpp"
#include "imagetool/parallel.hpp"

namespace berth::image {

namespace {

struct Plan {
    // Manifests in the order they are PUT: an index's children first (by digest), the top
    // document last.
    struct Doc {
        spec::Descriptor desc;
        std::string body;
        std::vector<size_t> blobs;  // indexes into Plan::blobs
    };
    std::vector<Doc> docs;
    std::vector<spec::Descriptor> blobs;
};

Result<Plan::Doc> manifest_doc(const Store& store, const spec::Descriptor& d, Plan& plan,
                               std::map<spec::Digest, size_t>& seen, bool blobs_later) {
    Plan::Doc doc;
    doc.desc = d;
    doc.body = TRY_CTX(store.read_blob(d, kMaxSmallBlob), "manifest " + d.digest.str());
    auto m = TRY_CTX(spec::parse_manifest(doc.body), "manifest " + d.digest.str());
    std::vector<spec::Descriptor> want{m.config};
    want.insert(want.end(), m.layers.begin(), m.layers.end());
    for (const auto& b : want) {
        if (!blobs_later && !store.has_blob(b.digest))
            return error("manifest " + d.digest.str() + ": blob " + b.digest.str() + " is missing");
        auto [it, fresh] = seen.emplace(b.digest, plan.blobs.size());
        if (fresh) plan.blobs.push_back(b);
        doc.blobs.push_back(it->second);
    }
    return doc;
}

Result<Plan> make_plan(const Store& store, const spec::Descriptor& top, bool blobs_later) {
    Plan plan;
    std::map<spec::Digest, size_t> seen;
    auto kind = TRY(spec::classify_manifest(
        TRY_CTX(store.read_blob(top, kMaxSmallBlob), "manifest " + top.digest.str()),
        top.media_type));
    if (!spec::is_index_kind(kind)) {
        plan.docs.push_back(TRY(manifest_doc(store, top, plan, seen, blobs_later)));
        return plan;
    }
    Plan::Doc index;
    index.desc = top;
    index.body = TRY(store.read_blob(top, kMaxSmallBlob));
    auto idx = TRY_CTX(spec::parse_index(index.body), "index " + top.digest.str());
    for (const auto& m : idx.manifests) {
        if (m.media_type == spec::kMediaTypeOciIndex ||
            m.media_type == spec::kMediaTypeDockerManifestList)
            return error("index " + top.digest.str() + ": nested index " + m.digest.str() +
                         " is not supported");
        if (!store.has_blob(m.digest))
            return error("index " + top.digest.str() + ": manifest " + m.digest.str() +
                         " is missing");
        plan.docs.push_back(TRY(manifest_doc(store, m, plan, seen, blobs_later)));
    }
    plan.docs.push_back(std::move(index));
    return plan;
}

bool blob_unknown(const Error& e) {
    return e.str().find("blob unknown") != std::string::npos ||
           e.str().find("BLOB_UNKNOWN") != std::string::npos;
}

// A blob file read in place for an upload, hashed as the upload reads it. The bytes are not
// copied (or staged) first: the store and an OCI layout are content-addressed, so checking
// them on the way out is enough. Reads arrive in order, but a retried or resumed request may
// go back (bytes already hashed are not hashed again) or skip ahead (a session that already
// holds a prefix); check() hashes whatever the upload did not read, so it always sees the
// whole file, and refuses a size or digest other than the descriptor's.
class VerifyingFile {
  public:
    // `fetch` (may be empty) brings the file into existence the first time it is read.
    VerifyingFile(std::string path, const spec::Descriptor& d,
                  std::function<Status(const spec::Descriptor&)> fetch)
        : path_(std::move(path)), d_(d), hasher_(d.digest.algorithm), fetch_(std::move(fetch)) {}

    ssize_t read(int64_t off, char* buf, size_t n) {
        if (!fd_ && !open()) {
            errno = EIO;
            return -1;
        }
        ssize_t k;
        do
            k = ::pread(fd_.get(), buf, n, off);
        while (k < 0 && errno == EINTR);
        if (k > 0 && off <= hashed_ && off + k > hashed_) {
            hasher_.update(buf + (hashed_ - off), size_t(off + k - hashed_));
            hashed_ = off + k;
        }
        return k;
    }

    // Why the file could not be opened (or fetched), if it could not.
    const std::optional<Error>& open_error() const { return open_error_; }
    bool opened() const { return bool(fd_); }

    Status check() {
        if (!fd_ && !open()) return *open_error_;
        std::string what = "blob " + d_.digest.str();
        std::vector<char> buf(1 << 20);
        for (;;) {
            ssize_t k = read(hashed_, buf.data(), buf.size());
            if (k < 0) return sys_error("read " + what);
            if (k == 0) break;
            if (hashed_ > d_.size) break;
        }
        if (hashed_ != d_.size)
            return error(what + ": size " + std::to_string(hashed_) + " does not match the " +
                         std::to_string(d_.size) + " bytes the descriptor declares");
        spec::Digest got = hasher_.finish();
        if (got != d_.digest) return error(what + ": content has digest " + got.str());
        return ok();
    }

  private:
    bool open() {
        if (open_error_) return false;
        if (fetch_) {
            if (auto st = fetch_(d_); !st) {
                open_error_ = std::move(st).error();
                return false;
            }
        }
        fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd_) {
            open_error_ = sys_error("blob " + d_.digest.str() + ": open '" + path_ + "'");
            return false;
        }
        return true;
    }

    std::string path_;
    UniqueFd fd_;
    spec::Descriptor d_;
    Hasher hasher_;
    int64_t hashed_ = 0;
    std::function<Status(const spec::Descriptor&)> fetch_;
    std::optional<Error> open_error_;
};

}  // namespace

MountHints mount_hints(const Store& store, const Reference& dest, const std::string& preferred) {
    MountHints out;
    auto entries = store.list();
    if (!entries) return out;
    auto add_manifest = [&](const spec::Descriptor& d, const std::string& repo) {
        auto body = store.read_blob(d, kMaxSmallBlob);
        if (!body) return;
        auto m = spec::parse_manifest(*body);
        if (!m) return;
        out.emplace(m->config.digest, repo);
        for (const auto& l : m->layers)
            out.emplace(l.digest, repo);
    };
    // Two passes so that the preferred repository's blobs are entered first (emplace keeps
    // the first).
    for (int pass = 0; pass < 2; pass++) {
        for (const auto& e : *entries) {
            auto r = Reference::parse(e.name);
            if (!r || r->registry != dest.registry || r->repository == dest.repository) continue;
            if ((r->repository == preferred) != (pass == 0)) continue;
            const auto& d = e.descriptor;
            if (d.media_type != spec::kMediaTypeOciIndex &&
                d.media_type != spec::kMediaTypeDockerManifestList) {
                add_manifest(d, r->repository);
                continue;
            }
            auto body = store.read_blob(d, kMaxSmallBlob);
            if (!body) continue;
            auto idx = spec::parse_index(*body);
            if (!idx) continue;
            for (const auto& m : idx->manifests)
                if (store.has_blob(m.digest)) add_manifest(m, r->repository);
        }
    }
    return out;
}

Result<PushResult> push_image(const Store& store, const std::string& source, const Reference& dest,
                              const PushOptions& opts, PushObserver* observer) {
    auto lock = TRY(store.shared());
    auto top = TRY(store.lookup(source));
    std::string preferred;
    if (auto src = Reference::parse(source); src && src->registry == dest.registry)
        preferred = src->repository;
    return push_descriptor(store, top, dest, opts, observer, mount_hints(store, dest, preferred));
}

Result<PushResult> push_descriptor(const Store& store, const spec::Descriptor& top,
                                   const Reference& dest, const PushOptions& opts,
                                   PushObserver* observer, const MountHints& hints) {
    PushObserver null_observer;
    PushObserver& obs = observer ? *observer : null_observer;
    Plan plan = TRY(make_plan(store, top, bool(opts.fetch_missing)));
    if (dest.digest && *dest.digest != top.digest)
        return error("destination pins " + dest.digest->str() + " but the image is " +
                     top.digest.str());

    // The repositories this push may mount from, each named once in the token scope.
    std::vector<std::string> from(plan.blobs.size());
    std::set<std::string> from_repos;
    for (size_t i = 0; i < plan.blobs.size(); i++) {
        auto it = hints.find(plan.blobs[i].digest);
        std::string f = !opts.mount_from.empty() ? opts.mount_from
                        : it != hints.end()      ? it->second
                                                 : "";
        if (!f.empty() && f != dest.repository) {
            from[i] = f;
            from_repos.insert(f);
        }
    }
    std::string scope = "repository:" + dest.repository + ":pull,push";
    for (const auto& f : from_repos)
        scope += " repository:" + f + ":pull";

    RegistryClient client(dest.registry, opts.registry);
    obs.start(plan.blobs);

    auto push_blob = [&](size_t i, bool trust_head) -> Status {
        const auto& b = plan.blobs[i];
        if (trust_head &&
            TRY_CTX(client.has_blob(dest.repository, b, scope), "blob " + b.digest.str())) {
            obs.done(i, BlobOutcome::existed);
            return ok();
        }
        VerifyingFile file(store.blob_path(b.digest), b,
                           opts.fetch_missing && !store.has_blob(b.digest)
                               ? opts.fetch_missing
                               : std::function<Status(const spec::Descriptor&)>{});
        auto mounted = client.upload_blob(
            dest.repository, b,
            [&file](int64_t off, char* buf, size_t n) { return file.read(off, buf, n); }, scope,
            trust_head ? from[i] : "", opts.upload, [&, i](int64_t n) { obs.progress(i, n); });
        if (mounted && *mounted) {
            obs.done(i, BlobOutcome::mounted);
            return ok();
        }
        // Whatever the registry said, a local file that is missing or is not the blob is the
        // error to report (the registry may only have said "digest invalid").
        if (file.open_error()) return *file.open_error();
        if (mounted || file.opened()) TRY(file.check());
        if (!mounted) return mounted.error().with_context("blob " + b.digest.str());
        obs.done(i, BlobOutcome::uploaded);
        return ok();
    };
    auto push_all = [&](const std::vector<size_t>& which, bool trust_head) -> Status {
        return run_parallel(which.size(), opts.jobs,
                            [&](size_t k) { return push_blob(which[k], trust_head); });
    };

    std::vector<size_t> all(plan.blobs.size());
    for (size_t i = 0; i < all.size(); i++)
        all[i] = i;
    TRY(push_all(all, true));

    PushResult res;
    res.destination = dest.str();
    for (size_t k = 0; k < plan.docs.size(); k++) {
        const auto& doc = plan.docs[k];
        bool last = k + 1 == plan.docs.size();
        std::string reference = last && !dest.tag.empty() ? dest.tag : doc.desc.digest.str();
        std::string what =
            (last && plan.docs.size() > 1 ? "index " : "manifest ") + doc.desc.digest.str();
        auto put = [&]() {
            return client.put_manifest(dest.repository, reference, doc.body, doc.desc.media_type,
                                       scope);
        };
        auto d = put();
        if (!d && blob_unknown(d.error())) {
            // A HEAD answer said a blob was there and the registry now says it is not (a
            // lying cache or proxy): send this manifest's blobs without asking, once.
            TRY_CTX(push_all(doc.blobs, false), what);
            d = put();
        }
        if (!d) return d.error().with_context(what);
        if (*d != doc.desc.digest) return error(what + ": registry computed " + d->str());
        if (last) res.digest = *d;
    }
    return res;
}

}  // namespace berth::image
