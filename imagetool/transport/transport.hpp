// Image transports as skopeo names them (docker://, oci:, oci-archive:, docker-archive:) plus
// the berth store, and `copy` between any two of them.
//
// Copies go through a staging store: the source puts each blob it hands over into a Store
// (verifying size and digest on the way in), and only when the whole image is there does the
// destination get written (blobs first, index.json or the archive's rename last). A bad source
// therefore never leaves anything in the destination. The staging store is a temporary layout
// under the berth store's tmp/ (gc leaves it alone while the copy holds the store's shared
// lock). Not staged: the berth store as a source, and an OCI layout copied to a registry,
// whose blobs are content-addressed files the push reads in place and verifies as it sends
// them (the manifests go last, so a bad blob still leaves no image on the registry). A copy
// between two repositories of one registry stages the manifests only and mounts the blobs,
// downloading just those the registry will not mount.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/client.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::transport {

enum class Kind { registry, layout, oci_archive, docker_archive, store };

// Where an image is, as the command line names it.
struct Location {
    Kind kind = Kind::store;
    std::string text;     // as typed
    std::string path;     // layout directory or archive file
    std::string ref;      // oci REF, docker-archive NAME:TAG (may be empty), store name
    Reference reference;  // registry
};

// "docker://HOST/REPO:TAG", "oci:DIR[:REF]", "oci-archive:FILE[:REF]",
// "docker-archive:FILE[:NAME:TAG]", "berth:NAME[:TAG]", or a plain NAME[:TAG] (the store).
// As in skopeo, a path ends at its first ':'.
Result<Location> parse_location(std::string_view text);
const char* kind_name(Kind k);

struct CopyOptions {
    RegistryOptions src_registry;
    RegistryOptions dst_registry;
    bool all = false;  // copy a whole index, not one platform's manifest
    spec::Platform platform = spec::host_platform();
    int jobs = 4;
};

struct CopyResult {
    spec::Descriptor top;            // what the destination now holds (manifest or index)
    std::vector<std::string> notes;  // conversions the user should hear about, once each
};

// Copies the image at src to dst. `store` is the berth store (a source, a destination, or
// only the place for the staging directory).
Result<CopyResult> copy_image(Store& store, const Location& src, const Location& dst,
                              const CopyOptions& opts);

// What an archive file holds, by its entries: docker-archive (manifest.json) or oci-archive
// (index.json), for `load`.
Result<Kind> detect_archive(const std::string& file);
// The images an archive holds, each by the name that selects it (an oci-archive's ref.name,
// a docker-archive's first RepoTags entry; "" for an unnamed one).
Result<std::vector<std::string>> archive_images(const std::string& file, Kind kind);

// ---- internals shared by the transport files ----

// An image the source put into a store: the top document and the name the source knows it by.
struct Staged {
    spec::Descriptor top;
    std::string name;  // "" when unknown
    // More names for the same image (a docker-archive's other RepoTags): a store destination
    // given no name of its own takes them all, as docker load does.
    std::vector<std::string> aliases;
};

// Reads blobs for staging: small documents whole, everything else copied into a store.
class BlobSource {
  public:
    virtual ~BlobSource() = default;
    // A manifest or index, verified against d.
    virtual Result<std::string> read_document(const spec::Descriptor& d) = 0;
    // Copies a blob into `to` (nothing when present), verified against d.
    virtual Status copy_blob(const spec::Descriptor& d, Store& to) = 0;
};

// Stages `top` from `src` into `to`: an index is narrowed to opts.platform unless opts.all;
// manifests, configs and layers are copied, verified. Returns the descriptor staged.
Result<spec::Descriptor> stage_tree(BlobSource& src, const spec::Descriptor& top, Store& to,
                                    const CopyOptions& opts);
// Narrows a top descriptor already complete in `store` to one platform unless opts.all.
Result<spec::Descriptor> narrow(const Store& store, const spec::Descriptor& top,
                                const CopyOptions& opts);
// Every blob `top` reaches in `store` (children before parents, top last), each present.
Result<std::vector<spec::Descriptor>> reachable(const Store& store, const spec::Descriptor& top);

// The entry of an index.json named `ref` (its ref.name annotation), or the only entry when
// ref is empty. `what` names the layout or archive in errors.
Result<spec::Descriptor> pick_from_index(const spec::Index& index, const std::string& ref,
                                         const std::string& what);

// The image name an index.json entry's ref.name gives, when it is a name and not a bare tag.
std::string ref_name_hint(const spec::Descriptor& d);

// The image `ref` names in the layout at dir, found but not staged (a layout is read in place
// when the destination is a registry).
Result<Staged> find_in_layout(const std::string& dir, const std::string& ref);

// Sources (each fills `staging`).
// documents_only: the manifests and index only, verified; the blobs are left out (a copy to
// another repository of the same registry mounts them, fetching only what it cannot mount).
Result<Staged> stage_from_registry(const Reference& ref, Store& staging, const CopyOptions& opts,
                                   bool documents_only = false);
Result<Staged> stage_from_layout(const std::string& dir, const std::string& ref, Store& staging,
                                 const CopyOptions& opts);
Result<Staged> stage_from_oci_archive(const std::string& file, const std::string& ref,
                                      Store& staging, const CopyOptions& opts);
Result<Staged> stage_from_docker_archive(const std::string& file, const std::string& ref,
                                         Store& staging, std::vector<std::string>& notes);

// Destinations (each reads from `from`; `movable` when `from` is a throwaway staging store
// whose blob files may be renamed rather than copied).
Status write_layout(const Store& from, bool movable, const spec::Descriptor& top,
                    const std::string& dir, const std::string& ref);
Status write_oci_archive(const Store& from, const spec::Descriptor& top, const std::string& file,
                         const std::string& ref);
Status write_docker_archive(const Store& from, const spec::Descriptor& top, const std::string& file,
                            const std::string& name);

// Copies blob d from `from` to path `dst` (temporary name in dst's directory, fsync, rename),
// verifying it; with `movable`, renames the staged file instead when on the same filesystem.
Status transfer_blob(const Store& from, bool movable, const spec::Descriptor& d,
                     const std::string& dst);

}  // namespace berth::image::transport
