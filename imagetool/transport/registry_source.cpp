// docker:// as a copy source: manifests by digest and blobs streamed, verified, into staging.
#include "imagetool/transport/transport.hpp"

namespace berth::image::transport {

namespace {

class RegistrySource : public BlobSource {
  public:
    RegistrySource(RegistryClient& client, std::string repo, FetchedManifest top, bool documents)
        : client_(client), repo_(std::move(repo)), top_(std::move(top)), documents_(documents) {}

    Result<std::string> read_document(const spec::Descriptor& d) override {
        if (d.digest == top_.digest) return top_.body;
        // By digest: get_manifest checks the body against the pinned digest.
        auto m = TRY(client_.get_manifest(repo_, d.digest.str()));
        return std::move(m.body);
    }
    Status copy_blob(const spec::Descriptor& d, Store& to) override {
        if (documents_) return ok();
        return client_.fetch_blob(repo_, d, to);
    }

  private:
    RegistryClient& client_;
    std::string repo_;
    FetchedManifest top_;
    bool documents_;  // manifests only: the blobs are left for the push to mount or fetch
};

}  // namespace

Result<Staged> stage_from_registry(const Reference& ref, Store& staging, const CopyOptions& opts,
                                   bool documents_only) {
    RegistryClient client(ref.registry, opts.src_registry);
    auto top = TRY(client.get_manifest(ref.repository, ref.api_reference()));
    spec::Descriptor d = top.descriptor();
    RegistrySource src(client, ref.repository, std::move(top), documents_only);
    Staged s;
    s.top = TRY(stage_tree(src, d, staging, opts));
    s.name = ref.str();
    return s;
}

}  // namespace berth::image::transport
