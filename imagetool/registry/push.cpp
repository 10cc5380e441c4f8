// push: collect the image's blobs from the store, upload them in parallel, then the manifests.
#include "imagetool/registry/push.hpp"

#include <fcntl.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "base/unique_fd.hpp"

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
                               std::map<spec::Digest, size_t>& seen) {
    Plan::Doc doc;
    doc.desc = d;
    doc.body = TRY_CTX(store.read_blob(d, kMaxSmallBlob), "manifest " + d.digest.str());
    auto m = TRY_CTX(spec::parse_manifest(doc.body), "manifest " + d.digest.str());
    std::vector<spec::Descriptor> want{m.config};
    want.insert(want.end(), m.layers.begin(), m.layers.end());
    for (const auto& b : want) {
        if (!store.has_blob(b.digest))
            return error("manifest " + d.digest.str() + ": blob " + b.digest.str() +
                         " is not in the store");
        auto [it, fresh] = seen.emplace(b.digest, plan.blobs.size());
        if (fresh) plan.blobs.push_back(b);
        doc.blobs.push_back(it->second);
    }
    return doc;
}

Result<Plan> make_plan(const Store& store, const spec::Descriptor& top) {
    Plan plan;
    std::map<spec::Digest, size_t> seen;
    auto kind = TRY(spec::classify_manifest(
        TRY_CTX(store.read_blob(top, kMaxSmallBlob), "manifest " + top.digest.str()),
        top.media_type));
    if (!spec::is_index_kind(kind)) {
        plan.docs.push_back(TRY(manifest_doc(store, top, plan, seen)));
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
                         " is not in the store");
        plan.docs.push_back(TRY(manifest_doc(store, m, plan, seen)));
    }
    plan.docs.push_back(std::move(index));
    return plan;
}

bool blob_unknown(const Error& e) {
    return e.str().find("blob unknown") != std::string::npos ||
           e.str().find("BLOB_UNKNOWN") != std::string::npos;
}

}  // namespace

Result<PushResult> push_image(const Store& store, const std::string& source, const Reference& dest,
                              const PushOptions& opts, PushObserver* observer) {
    auto lock = TRY(store.shared());
    auto top = TRY(store.lookup(source));
    // A source that names another repository of the same registry is where blobs can be
    // mounted from without sending them.
    std::string from;
    if (auto src = Reference::parse(source); src && src->registry == dest.registry &&
                                             src->repository != dest.repository &&
                                             store.find(src->str()))
        from = src->repository;
    return push_descriptor(store, top, dest, opts, observer, from);
}

Result<PushResult> push_descriptor(const Store& store, const spec::Descriptor& top,
                                   const Reference& dest, const PushOptions& opts,
                                   PushObserver* observer, const std::string& from) {
    PushObserver null_observer;
    PushObserver& obs = observer ? *observer : null_observer;
    Plan plan = TRY(make_plan(store, top));
    if (dest.digest && *dest.digest != top.digest)
        return error("destination pins " + dest.digest->str() + " but the image is " +
                     top.digest.str());

    std::string scope = "repository:" + dest.repository + ":pull,push";
    if (!from.empty()) scope += " repository:" + from + ":pull";

    RegistryClient client(dest.registry, opts.registry);
    obs.start(plan.blobs);

    auto push_blob = [&](size_t i, bool trust_head) -> Status {
        const auto& b = plan.blobs[i];
        if (trust_head &&
            TRY_CTX(client.has_blob(dest.repository, b, scope), "blob " + b.digest.str())) {
            obs.done(i, BlobOutcome::existed);
            return ok();
        }
        std::string path = store.blob_path(b.digest);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd) return sys_error("blob " + b.digest.str() + ": open '" + path + "'");
        bool mounted =
            TRY_CTX(client.upload_blob(dest.repository, b, fd.get(), scope, from, opts.upload,
                                       [&, i](int64_t n) { obs.progress(i, n); }),
                    "blob " + b.digest.str());
        obs.done(i, mounted ? BlobOutcome::mounted : BlobOutcome::uploaded);
        return ok();
    };
    auto push_all = [&](const std::vector<size_t>& which, bool trust_head) -> Status {
        std::atomic<size_t> next{0};
        std::atomic<bool> stop{false};
        std::mutex err_mu;
        std::optional<Error> first_error;
        auto worker = [&] {
            for (;;) {
                if (stop) return;
                size_t k = next++;
                if (k >= which.size()) return;
                if (auto st = push_blob(which[k], trust_head); !st) {
                    std::lock_guard<std::mutex> g(err_mu);
                    if (!first_error) first_error = std::move(st).error();
                    stop = true;
                    return;
                }
            }
        };
        int jobs = std::max(1, std::min<int>(opts.jobs, int(which.size())));
        std::vector<std::thread> threads;
        for (int j = 0; j < jobs; j++)
            threads.emplace_back(worker);
        for (auto& t : threads)
            t.join();
        if (first_error) return *first_error;
        return ok();
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
