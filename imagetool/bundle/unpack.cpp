// Unpack: resolve the image, make the rootfs (layers applied in order, each DiffID checked; or
// the snapshot overlay), then write config.json from the image config and the rootfs's own
// /etc/passwd. Failure undoes everything.
#include "imagetool/bundle/unpack.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.hpp"
#include "imagetool/bundle/mtree.hpp"
#include "imagetool/bundle/origin.hpp"
#include "imagetool/bundle/snapshot.hpp"
#include "imagetool/layer/read_ahead.hpp"
#include "imagetool/store/blob_stream.hpp"

namespace berth::image::bundle {
namespace {

// Absent: created (true); empty directory: used as is (false); anything else refused.
// The bundle is closed to other users (0700, as umoci does): the rootfs holds the image's
// setuid binaries and files owned by uids that may exist on the host, and any local user
// able to traverse to them could run or open them (containerd CVE-2021-41103,
// CVE-2024-25621). A user-namespaced container's owner may open it up on purpose.
Result<bool> prepare_dir(const std::string& dir) {
    if (mkdir(dir.c_str(), 0700) == 0) return true;
    if (errno != EEXIST) return sys_error("create '" + dir + "'");
    struct stat st;
    if (lstat(dir.c_str(), &st) < 0) return sys_error("stat '" + dir + "'");
    if (!S_ISDIR(st.st_mode)) return error("'" + dir + "' exists and is not a directory");
    DIR* d = opendir(dir.c_str());
    if (!d) return sys_error("open '" + dir + "'");
    bool empty = true;
    while (struct dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") empty = false;
    closedir(d);
    if (!empty) return error("'" + dir + "' is not empty");
    if (chmod(dir.c_str(), 0700) < 0) return sys_error("chmod '" + dir + "'");
    return false;
}

void cleanup(const std::string& dir, bool created) {
    // A snapshot that got as far as mounting is unmounted first: remove_all must never
    // descend into a mounted lower layer.
    if (is_snapshot_bundle(dir)) (void)umount_snapshot(dir);
    umount2((dir + "/rootfs").c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    if (created) {
        (void)remove_all(dir);
        return;
    }
    for (const char* n : {"/rootfs", "/config.json", "/.snapshot", "/.berth-image"})
        (void)remove_all(dir + n);
}

layer::ApplyOptions apply_options(const UnpackOptions& opts) {
    layer::ApplyOptions o = layer::default_apply_options();
    o.limits = opts.limits;
    if (opts.bundle.rootless) {
        o.rootless = true;
        o.chown = o.mknod = false;
    }
    if (opts.no_chown) o.chown = o.record_owners = false;
    return o;
}

Status full_unpack(Store& store, const Image& image, const std::string& dir,
                   const UnpackOptions& opts, UnpackResult& res) {
    std::string rootfs = dir + "/rootfs";
    if (mkdir(rootfs.c_str(), 0755) < 0) return sys_error("create '" + rootfs + "'");
    UniqueFd root(open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open '" + rootfs + "'");
    const auto& layers = image.layers();
    const auto& diffs = image.config.rootfs.diff_ids;
    if (layers.size() != diffs.size())
        return error("image has " + std::to_string(layers.size()) + " layers but " +
                     std::to_string(diffs.size()) + " diff_ids");
    layer::ApplyOptions ao = apply_options(opts);
    for (size_t i = 0; i < layers.size(); ++i) {
        std::string ctx = "layer " + std::to_string(i + 1) + " (" + layers[i].digest.str() + ")";
        auto blob = TRY_CTX(store.open_blob(layers[i]), ctx);
        // Decompression (and the blob's digest) on a second thread, file creation here.
        auto stream = layer::read_ahead(
            TRY_CTX(layer::open_layer_stream(std::make_unique<BlobStream>(std::move(blob)),
                                             layers[i].media_type, ao.limits.max_expanded),
                    ctx));
        ao.expected_diff_id = diffs[i].str();
        auto r = TRY_CTX(layer::apply_tar(root.get(), *stream, ao), ctx);
        for (auto& w : r.warnings)
            res.warnings.push_back(std::move(w));
        if (r.devices_skipped && !res.devices_skipped)
            res.first_device_skipped = r.first_device_skipped;
        res.devices_skipped += r.devices_skipped;
        ++res.layers_extracted;
    }
    return ok();
}

// `root_mount`: a rootless snapshot's overlay, which becomes mounts[0] (the runtime mounts it
// as the rootfs); the rootfs's /etc/passwd is read through the same overlay, mounted here in a
// user namespace of berth-image's own.
Status write_config(const Image& image, const std::string& dir, const UnpackOptions& opts,
                    const spec::Mount* root_mount) {
    UniqueFd root;
    if (root_mount)
        root = TRY(open_runtime_snapshot(*root_mount, dir));
    else
        root.reset(open((dir + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open rootfs");
    auto spec = TRY(make_config(image.config, root.get(), opts.bundle));
    if (root_mount) spec.mounts.insert(spec.mounts.begin(), *root_mount);
    std::string text = spec::to_string(spec) + "\n";
    if (opts.snapshot) return write_snapshot_file(dir + "/config.json", text, 0644);
    return write_file_atomic(dir + "/config.json", text, 0644);
}

}  // namespace

Result<UnpackResult> unpack_image(Store& store, std::string_view ref, const std::string& dir,
                                  const UnpackOptions& opts) {
    if (opts.snapshot && (opts.bundle.rootless || opts.no_chown) && geteuid() == 0)
        return error(std::string("--snapshot with ") +
                     (opts.no_chown ? "--no-chown" : "--rootless") +
                     ": the layer cache holds root's layers, with their owners");
    const UnpackOptions& o = opts;
    UnpackResult res;
    // Shared lock: gc waits until the blobs are read.
    auto lock = TRY(store.shared());
    Image image = TRY(store.load_image(ref, opts.platform));
    bool created = TRY(prepare_dir(dir));
    res.layers = image.layers().size();
    auto st = [&]() -> Status {
        if (o.snapshot && geteuid() != 0) {
            // An overlay a normal user mounts exists only in its own user namespace: the
            // runtime mounts it in the container's (docs/layers.md, "Rootless snapshots").
            auto st = [&]() -> Status {
                SkippedDevices skipped;
                auto chains = TRY(ensure_layers(store, image, apply_options(o), skipped));
                res.devices_skipped = skipped.count;
                res.first_device_skipped = skipped.first;
                auto m = TRY(prepare_runtime_snapshot(store.dir(), chains, dir));
                return write_config(image, dir, o, &m);
            }();
            if (!st) return std::move(st).error().with_context("--snapshot as a normal user");
        } else if (o.snapshot) {
            SkippedDevices skipped;
            auto chains = TRY(ensure_layers(store, image, apply_options(o), skipped));
            res.devices_skipped = skipped.count;
            res.first_device_skipped = skipped.first;
            TRY(mount_snapshot(store.dir(), chains, dir));
            TRY(write_config(image, dir, o, nullptr));
        } else {
            TRY(full_unpack(store, image, dir, o, res));
            // Before config.json, which only reads the rootfs: the manifest is the tree as
            // the image made it, what a later commit compares against.
            TRY(write_bundle_mtree(dir));
            TRY(write_config(image, dir, o, nullptr));
        }
        return write_origin(dir, Origin{store.dir(), image.name,
                                        image.manifest_descriptor.digest.str(), o.snapshot});
    }();
    if (!st) {
        cleanup(dir, created);
        return std::move(st).error().with_context("unpack '" + std::string(ref) + "'");
    }
    if (res.devices_skipped)
        res.warnings.push_back(
            layer::devices_skipped_warning(res.devices_skipped, res.first_device_skipped));
    return res;
}

}  // namespace berth::image::bundle
