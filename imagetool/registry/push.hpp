// Pushing one image (a manifest, or an index with its manifests) from the store to a registry.
#pragma once

#include <functional>
#include <map>
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
    // The mount source of every blob, before the hints (copy from a docker:// source on the
    // destination's registry, or of a store image named after another repository there).
    std::string mount_from;
    // When set, the plan may name blobs that are not in the store yet (copy between
    // repositories of one registry, where blobs are usually mounted and never downloaded):
    // one that neither HEAD nor a mount finds on the registry is fetched into the store, by
    // this, just before it is sent.
    std::function<Status(const spec::Descriptor&)> fetch_missing;
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

// Where the registry may already hold a blob: a repository of the destination's registry to
// mount it from (`POST ...?mount=<digest>&from=<repo>`) instead of sending it.
using MountHints = std::map<spec::Digest, std::string>;

// The hints the berth store gives for pushing to `dest`: every name in `store` on dest's
// registry (another repository than dest's) lends its repository to the blobs its image lists;
// `preferred` (the repository the pushed image was named after, when on that registry) wins
// over the others. A hint is only a first try: a registry that does not hold the blob there
// answers the mount with an upload session, and the blob is sent.
MountHints mount_hints(const Store& store, const Reference& dest,
                       const std::string& preferred = "");

// Pushes what `source` names in the store to `dest`: every blob first (HEAD to skip what the
// registry has, a cross-repository mount when the store knows another repository of the same
// registry with the blob, else an upload), then the manifests, the top one last, so that the
// registry never holds a manifest whose blobs it lacks. An index needs all its manifests in
// the store. Nothing is sent when the local image is incomplete.
Result<PushResult> push_image(const Store& store, const std::string& source, const Reference& dest,
                              const PushOptions& opts, PushObserver* observer = nullptr);
// The same for a manifest or index the caller already resolved in `blobs` (the berth store, or
// an OCI layout read in place by copy). Blobs are read straight from their files and hashed as
// they are sent: a blob whose bytes do not match its digest fails the push before any manifest
// is sent.
Result<PushResult> push_descriptor(const Store& blobs, const spec::Descriptor& top,
                                   const Reference& dest, const PushOptions& opts,
                                   PushObserver* observer = nullptr, const MountHints& hints = {});

}  // namespace berth::image
