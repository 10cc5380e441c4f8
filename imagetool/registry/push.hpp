// Pushing one image (a manifest, or an index with its manifests) from the store to a registry.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/client.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image {

struct PushOptions {
    RegistryOptions registry;
    UploadOptions upload;
    int jobs = 4;
};

// What became of one blob.
enum class BlobOutcome { uploaded, existed, mounted };

// Told about the push's progress; called from several upload threads at once.
class PushObserver {
  public:
    virtual ~PushObserver() = default;
    // The distinct blobs of the image (configs and layers), before any request.
    virtual void start(const std::vector<spec::Descriptor>& blobs) { (void)blobs; }
    virtual void progress(size_t i, int64_t bytes) { (void)i, (void)bytes; }
    virtual void done(size_t i, BlobOutcome how) { (void)i, (void)how; }
};

struct PushResult {
    std::string destination;  // the reference pushed to (Reference::str())
    spec::Digest digest;      // of the top manifest or index, as stored on the registry
};

// Pushes what `source` names in the store to `dest`: every blob first (HEAD to skip what the
// registry has, a cross-repository mount when the source was pulled from another repository
// of the same registry, else an upload), then the manifests, the top one last, so that the
// registry never holds a manifest whose blobs it lacks. An index needs all its manifests in
// the store. Nothing is sent when the local image is incomplete.
Result<PushResult> push_image(const Store& store, const std::string& source, const Reference& dest,
                              const PushOptions& opts, PushObserver* observer = nullptr);
// The same for a manifest or index the caller already resolved in `store` (copy's staging
// store); blobs are mounted from repository `from` of the same registry when it is given.
Result<PushResult> push_descriptor(const Store& store, const spec::Descriptor& top,
                                   const Reference& dest, const PushOptions& opts,
                                   PushObserver* observer = nullptr, const std::string& from = "");

}  // namespace berth::image
