// Commit: base image from the bundle's origin record, config changes checked before any work,
// then one pass: diff walk -> tar -> compressor (hashing the DiffID) -> blob writer (hashing
// the digest) -> config and manifest -> name.
#include "imagetool/bundle/commit.hpp"

#include <unistd.h>

#include <ctime>

#include "imagetool/bundle/config_change.hpp"
#include "imagetool/bundle/origin.hpp"
#include "imagetool/layer/compress.hpp"
#include "imagetool/layer/create.hpp"

namespace berth::image::bundle {
Result<CommitResult> commit_bundle(Store& store, const std::string& bundle, const std::string& name,
                                   const CommitOptions& opts) {
    Origin origin = TRY(read_origin(bundle));
    // Shared lock for the whole run: gc must not take the new layer blob before it is named,
    // nor the base image's blobs.
    auto lock = TRY(store.shared());
    auto image = store.load_image(origin.manifest);
    if (!image)
        return std::move(image).error().with_context(
            "base image " + origin.manifest + " (unpacked from store '" + origin.store + "')");

    spec::ImageConfig cfg = image->config;
    spec::ContainerConfig cc = cfg.config.value_or(spec::ContainerConfig{});
    for (const auto& c : opts.changes)
        TRY(apply_config_change(cc, c));
    cfg.config = cc;

    BlobWriter blob = TRY(store.create_blob());
    auto comp = layer::make_compressor(opts.compression,
                                       [&](const void* d, size_t n) { return blob.write(d, n); });
    layer::TarSink sink = [&](const void* d, size_t n) { return comp->write(d, n); };
    layer::TarWriter tar(sink);
    // A normal user's bundle holds the user's files where the image had root's (a rootless
    // unpack): stored back as root's, other owners from user.rootlesscontainers, as a normal
    // user's import stores them.
    if (geteuid() != 0) tar.set_owners(layer::TreeOwners{true, geteuid(), getegid()});
    TRY(tar.open());
    CommitResult res;
    res.stats =
        origin.snapshot ? TRY(write_snapshot_diff(bundle, tar)) : TRY(write_full_diff(bundle, tar));
    TRY(tar.close());
    res.diff_id = TRY(comp->finish());
    res.layer = TRY(blob.commit(layer::layer_media_type(opts.compression)));

    cfg.created = spec::created_now();
    if (!opts.author.empty()) cfg.author = opts.author;
    cfg.rootfs.diff_ids.push_back(TRY(spec::Digest::parse(res.diff_id)));
    spec::History h;
    h.created = cfg.created;
    h.created_by = opts.message.empty() ? "berth-image commit" : opts.message;
    h.author = opts.author;
    cfg.history.push_back(h);
    std::vector<spec::Descriptor> layers = image->layers();
    layers.push_back(res.layer);
    res.manifest = TRY(store.put_image(name, cfg, layers));
    (void)lock;
    return res;
}

}  // namespace berth::image::bundle
