// Pulling one image from a registry into the store.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/client.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image {

struct PullOptions {
    RegistryOptions registry;
    spec::Platform platform = spec::host_platform();
    int jobs = 4;
};

// Told about the pull's progress; called from several download threads at once.
class PullObserver {
  public:
    virtual ~PullObserver() = default;
    // The blobs to fetch (config first, then the layers), once the manifest is known.
    virtual void start(const std::vector<spec::Descriptor>& blobs) { (void)blobs; }
    virtual void progress(size_t i, int64_t bytes) { (void)i, (void)bytes; }
    virtual void done(size_t i, bool existed) { (void)i, (void)existed; }
};

struct PullResult {
    std::string name;           // the name given in the store (Reference::str())
    spec::Digest digest;        // what the reference resolved to (index or manifest)
    spec::Descriptor manifest;  // the platform manifest stored
};

// Fetches the manifest (choosing the platform from an index), the config and the layers
// (in parallel, skipping blobs already stored), writes the manifest and names the image.
// A failure leaves no name and no partial blob in blobs/ (partials stay in tmp/ for resume).
Result<PullResult> pull_image(Store& store, const Reference& ref, const PullOptions& opts,
                              PullObserver* observer = nullptr);

}  // namespace berth::image
