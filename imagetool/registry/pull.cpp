// pull: manifest negotiation, platform choice, parallel verified downloads, naming.
#include "imagetool/registry/pull.hpp"

#include "imagetool/parallel.hpp"

namespace berth::image {

namespace {

Status check_manifest(const spec::Manifest& m) {
    if (m.config.media_type != spec::kMediaTypeOciConfig &&
        m.config.media_type != spec::kMediaTypeDockerConfig)
        return error("unsupported config media type '" + m.config.media_type + "'");
    for (size_t i = 0; i < m.layers.size(); i++)
        if (!spec::is_layer_media_type(m.layers[i].media_type))
            return error("layers[" + std::to_string(i) + "]: unsupported media type '" +
                         m.layers[i].media_type + "'");
    return ok();
}

}  // namespace

Result<PullResult> pull_image(Store& store, const Reference& ref, const PullOptions& opts,
                              PullObserver* observer) {
    PullObserver null_observer;
    PullObserver& obs = observer ? *observer : null_observer;
    auto lock = TRY(store.shared());
    RegistryClient client(ref.registry, opts.registry);
    auto top = TRY(client.get_manifest(ref.repository, ref.api_reference()));
    PullResult res;
    res.name = ref.str();
    res.digest = top.digest;
    FetchedManifest fm = std::move(top);
    if (spec::is_index_kind(fm.kind)) {
        auto index = TRY_CTX(spec::parse_index(fm.body), "index " + fm.digest.str());
        auto chosen = TRY(spec::select_platform_manifest(index, opts.platform));
        auto m = TRY(client.get_manifest(ref.repository, chosen.digest.str()));
        if (spec::is_index_kind(m.kind))
            return error("index " + fm.digest.str() + " points at another index");
        if (m.descriptor().media_type != chosen.media_type)
            return error("manifest " + m.digest.str() + " is '" + m.descriptor().media_type +
                         "' but the index says '" + chosen.media_type + "'");
        fm = std::move(m);
    }
    auto manifest = TRY_CTX(spec::parse_manifest(fm.body), "manifest " + fm.digest.str());
    TRY_CTX(check_manifest(manifest), "manifest " + fm.digest.str());

    std::vector<spec::Descriptor> blobs;
    blobs.push_back(manifest.config);
    for (const auto& l : manifest.layers)
        blobs.push_back(l);
    obs.start(blobs);

    // The config first: it is small, and a bad one should stop the pull before the layers.
    bool had = store.has_blob(manifest.config.digest);
    TRY(client.fetch_blob(ref.repository, manifest.config, store,
                          [&](int64_t n) { obs.progress(0, n); }));
    obs.done(0, had);
    auto cfg_text = TRY(store.read_blob(manifest.config, 64u << 20));
    auto cfg =
        TRY_CTX(spec::parse_image_config(cfg_text), "config " + manifest.config.digest.str());
    if (cfg.rootfs.diff_ids.size() != manifest.layers.size())
        return error("config " + manifest.config.digest.str() + " has " +
                     std::to_string(cfg.rootfs.diff_ids.size()) + " diff_ids for " +
                     std::to_string(manifest.layers.size()) + " layers");

    // The layers (blobs[1..]), in parallel.
    TRY(run_parallel(blobs.size() - 1, opts.jobs, [&](size_t k) -> Status {
        size_t i = k + 1;
        bool existed = store.has_blob(blobs[i].digest);
        TRY(client.fetch_blob(ref.repository, blobs[i], store,
                              [&, i](int64_t n) { obs.progress(i, n); }));
        obs.done(i, existed);
        return ok();
    }));

    auto md = TRY(store.put_blob(fm.body, spec::media_type_of(fm.kind)));
    md.platform =
        spec::Platform{cfg.architecture, cfg.os, cfg.os_version, cfg.os_features, cfg.variant, {}};
    TRY(store.set_name(res.name, md));
    res.manifest = md;
    return res;
}

}  // namespace berth::image
