// The image store: an OCI image layout used as a content-addressed store (umoci's small
// interface: put/get blob through verifying readers and writers, get/put index) plus names,
// image resolution, locking and gc.
//
// On disk (readable by umoci and skopeo's oci: transport):
//   <dir>/oci-layout                 {"imageLayoutVersion":"1.0.0"}
//   <dir>/index.json                 one descriptor per name, annotated with
//                                    org.opencontainers.image.ref.name = full normalised
//                                    reference ("docker.io/library/alpine:latest")
//   <dir>/blobs/<alg>/<hex>          content; written to tmp/ then renamed, never in place
//   <dir>/.berth/lock                flock: shared for writers of blobs (pull, import),
//                                    exclusive for gc
//   <dir>/.berth/index.lock          flock: exclusive around every index.json update
//   <dir>/.berth/tmp/                temporary blobs; partial downloads kept for resume
//                                    (tmp/partial-<alg>-<hex>); gc empties it
//   <dir>/.berth/build-cache/        build steps done before (imagetool/build/cache.hpp);
//                                    gc keeps the layer blobs they name
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/digest.hpp"
#include "spec/image.hpp"

namespace berth::image {

// Blobs larger than this are not read whole (manifests, configs): see BlobReader.
inline constexpr size_t kMaxSmallBlob = 4u << 20;

// Reads one blob and checks, when it reaches EOF, that exactly descriptor.size bytes with
// descriptor.digest were read. A mismatch is an error from read(), never a silent EOF.
// A read past the declared size is an error at once (no unbounded read of a bad blob).
class BlobReader {
  public:
    BlobReader(UniqueFd fd, spec::Descriptor desc);
    BlobReader(BlobReader&&) noexcept = default;
    BlobReader& operator=(BlobReader&&) noexcept = default;

    // Up to n bytes; returns 0 only at a verified EOF.
    Result<size_t> read(void* buf, size_t n);
    // Reads to EOF (discarding), verifying.
    Status verify_all();
    const spec::Descriptor& descriptor() const { return desc_; }

  private:
    UniqueFd fd_;
    spec::Descriptor desc_;
    Hasher hasher_;
    int64_t seen_ = 0;
    bool verified_ = false;
};

// Writes a new blob into the store: bytes go to a temporary file, commit() verifies them
// (against the expected descriptor if given, else computes the digest), fsyncs, and renames
// into blobs/. Destroyed without commit, the temporary file is removed.
class BlobWriter {
  public:
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) noexcept;
    ~BlobWriter();

    Status write(const void* data, size_t n);
    Status write(std::string_view s) { return write(s.data(), s.size()); }
    int64_t written() const { return size_; }
    // The descriptor of the stored blob (media_type as given).
    Result<spec::Descriptor> commit(const std::string& media_type);

  private:
    friend class Store;
    BlobWriter(std::string store_dir, std::string tmp_path, UniqueFd fd,
               std::optional<spec::Descriptor> expected);
    std::string dir_, tmp_;
    UniqueFd fd_;
    std::optional<spec::Descriptor> expected_;
    Hasher hasher_;
    int64_t size_ = 0;
    bool done_ = false;
};

// A held flock; released when destroyed.
class StoreLock {
  public:
    StoreLock() = default;
    explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}

  private:
    UniqueFd fd_;
};

// One name in index.json.
struct ImageEntry {
    std::string name;             // the ref.name annotation: "docker.io/library/alpine:latest"
    spec::Descriptor descriptor;  // a manifest or an index
};

// An image resolved for one platform.
struct Image {
    std::string name;                      // the name it was found under ("" if by digest)
    spec::Descriptor manifest_descriptor;  // the platform manifest (not the index)
    spec::Manifest manifest;
    spec::Descriptor config_descriptor;
    spec::ImageConfig config;
    const std::vector<spec::Descriptor>& layers() const { return manifest.layers; }
};

struct GcReport {
    size_t blobs_removed = 0;
    uint64_t bytes_removed = 0;
    size_t temp_removed = 0;
};

class Store {
  public:
    // Opens the layout at dir, creating it (oci-layout, index.json, blobs/) if absent.
    // An existing directory with a foreign oci-layout version is refused.
    static Result<Store> open(const std::string& dir);
    // An existing OCI layout read in place (copy's oci: source): only the blob reads are for
    // use; nothing is created and no lock taken, as it is not a berth store.
    static Store view(const std::string& dir) { return Store(dir); }

    const std::string& dir() const { return dir_; }
    std::string blob_path(const spec::Digest& d) const;
    std::string tmp_dir() const;

    // Locks. Blob writers (pull, import) hold shared() for their whole run so that gc, which
    // takes exclusive(), never deletes a blob written but not yet named.
    Result<StoreLock> shared() const;
    Result<StoreLock> exclusive() const;

    // Blobs.
    bool has_blob(const spec::Digest& d) const;
    Result<BlobReader> open_blob(const spec::Descriptor& d) const;
    // A whole small blob (manifest, config), verified; refuses more than max bytes.
    Result<std::string> read_blob(const spec::Descriptor& d, size_t max = kMaxSmallBlob) const;
    // Writes data as a blob (no-op if present) and returns its descriptor.
    Result<spec::Descriptor> put_blob(std::string_view data, const std::string& media_type);
    // A streaming writer; with `expected`, commit() fails unless size and digest match.
    Result<BlobWriter> create_blob(std::optional<spec::Descriptor> expected = std::nullopt);

    // Resumable downloads (the registry client streams and hashes itself): the partial file
    // for a digest, and moving a file whose size and digest the caller verified into blobs/.
    std::string partial_path(const spec::Digest& d) const;
    Status install_verified(const std::string& path, const spec::Digest& d);

    // index.json. write_index is atomic; read-modify-write goes through update_index.
    Result<spec::Index> read_index() const;
    Status write_index(const spec::Index& index);

    // Names. `name` is a full normalised reference (Reference::str()).
    Result<std::vector<ImageEntry>> list() const;
    Result<ImageEntry> find(std::string_view name) const;
    // Points name at desc (replacing an older entry of that name), under the index lock.
    Status set_name(const std::string& name, const spec::Descriptor& desc);
    // Removes a name; error "image not known" if absent.
    Status remove_name(const std::string& name);

    // Resolves what a user typed ("alpine", "localhost/x:1", "sha256:<manifest digest>", or a
    // unique digest prefix of at least 12 hex digits) to an image for the platform: follows
    // an index to the platform's manifest, reads and checks manifest and config.
    Result<Image> load_image(std::string_view ref,
                             const spec::Platform& platform = spec::host_platform()) const;
    // What index.json holds for ref (a manifest or an index; ref.name annotation removed).
    Result<spec::Descriptor> lookup(std::string_view ref) const;
    // The same, stopping at the manifest descriptor.
    Result<spec::Descriptor> resolve(std::string_view ref,
                                     const spec::Platform& platform = spec::host_platform()) const;
    Result<spec::Manifest> read_manifest(const spec::Descriptor& d) const;
    Result<spec::ImageConfig> read_config(const spec::Manifest& m) const;

    // Stores a new image whose layer blobs are already in the store: writes config and
    // manifest blobs (OCI media types) and names it. Returns the manifest descriptor.
    Result<spec::Descriptor> put_image(const std::string& name, const spec::ImageConfig& config,
                                       const std::vector<spec::Descriptor>& layers,
                                       const std::map<std::string, std::string>& annotations = {});

    // Removes blobs no name reaches and everything under tmp/ (takes the exclusive lock).
    // `roots`, when given, runs with the lock held and adds blobs to keep (the build cache's
    // layers); it may first drop what it no longer wants kept.
    using GcRoots = std::function<Status(std::set<spec::Digest>& live)>;
    Result<GcReport> gc(const GcRoots& roots = {});

  private:
    explicit Store(std::string dir) : dir_(std::move(dir)) {}
    Result<spec::Descriptor> lookup_for(std::string_view ref, const spec::Platform* platform) const;
    Result<spec::Descriptor> select_platform(const spec::Descriptor& d,
                                             const spec::Platform& platform) const;
    std::string dir_;
};

}  // namespace berth::image
