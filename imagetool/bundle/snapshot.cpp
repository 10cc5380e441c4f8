// Snapshot bundles over overlayfs. Each layer is extracted through an overlay of the layers
// below it (docs/layers.md), into a temporary directory renamed into place when the stack is
// complete, so a crash or a concurrent unpack never leaves a half layer under its final name.
// overlayfs mount options are limited to one page: lowerdirs are given relative to the cache
// directory (chdir around the mount) to fit ~60 layers.
#include "imagetool/bundle/snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <functional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "imagetool/bundle/userns_overlay.hpp"
#include "imagetool/layer/path.hpp"
#include "imagetool/layer/read_ahead.hpp"
#include "imagetool/layer/sha256.hpp"
#include "imagetool/store/blob_stream.hpp"

namespace berth::image::bundle {
namespace {

std::string hex_of(const std::string& digest) {
    auto c = digest.find(':');
    return c == std::string::npos ? digest : digest.substr(c + 1);
}

std::string ref_id(const std::string& bundle_dir) {
    return hex_of(layer::sha256_digest(bundle_dir));
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
    std::vector<std::string> out;
    DIR* d = opendir(path.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return sys_error("open '" + path + "'");
    }
    while (struct dirent* e = readdir(d))
        if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    closedir(d);
    return out;
}

std::vector<std::string> chains_of(const Image& image) {
    std::vector<std::string> out;
    std::string chain;
    for (const auto& d : image.config.rootfs.diff_ids) {
        chain = layer::chain_id(chain, d.str());
        out.push_back(hex_of(chain));
    }
    return out;
}

// Copies a directory's owner, mode and times to another: an overlay's root directory takes
// them from its upper directory, so each layer's root (and a bundle's upper) starts as the
// root below it was, as the full unpack's rootfs does.
Status copy_root_meta(const std::string& from, const std::string& to, bool chown_too) {
    struct stat st;
    if (stat(from.c_str(), &st) < 0) return sys_error("stat '" + from + "'");
    if (chown_too && chown(to.c_str(), st.st_uid, st.st_gid) < 0)
        return sys_error("chown '" + to + "'");
    if (chmod(to.c_str(), st.st_mode & 07777) < 0) return sys_error("chmod '" + to + "'");
    struct timespec t[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, to.c_str(), t, 0) < 0) return sys_error("set times of '" + to + "'");
    return ok();
}

// Mount data for applying one layer into `tmp`/fs over `lowers` (relative to the layer cache,
// top first), without an index (the upper must stay a plain directory), plus `extra`.
Result<std::string> layer_overlay_data(const std::vector<std::string>& lowers,
                                       const std::string& tmp, const std::string& extra) {
    std::string lower;
    for (const auto& l : lowers)
        lower += (lower.empty() ? "" : ":") + l;
    std::string data = "lowerdir=" + lower + ",upperdir=" + tmp + "/fs,workdir=" + tmp +
                       "/work,index=off," + extra;
    if (data.size() >= 4000) return error("too many layers for one overlay mount");
    return data;
}

// A normal user's layer view: the same overlay mounted in a user namespace (userxattr: its
// opaque directories are user.overlay.opaque, its whiteouts the same 0:0 devices, which the
// kernel lets anyone make), written through the fd it hands back.
Status apply_over_lowers_userns(const std::string& cache, const std::vector<std::string>& lowers,
                                const std::string& tmp, const std::function<Status(int)>& apply) {
    std::string merged = tmp + "/merged";
    TRY(mkdir_p(cache + "/" + tmp + "/work", 0700));
    TRY(mkdir_p(cache + "/" + merged, 0700));
    // userxattr turns redirect_dir and metacopy off by itself (and refuses them spelled out).
    std::string data = TRY(layer_overlay_data(lowers, tmp, "userxattr"));
    Status st = [&]() -> Status {
        auto view = TRY_CTX(userns_overlay(cache, merged, data), "mount the lower layers");
        return apply(view.get());
    }();
    (void)remove_all(cache + "/" + tmp + "/work");
    rmdir((cache + "/" + merged).c_str());
    return st;
}

// Applies one layer into `tmp`/fs (relative to the cache directory) with the layers below it
// visible: an overlay of `lowers` (relative, top first) with tmp/fs as its upper, in a mount
// namespace private to a thread made for it, so the mount never shows on the host and dies
// with the thread whatever happens. overlayfs itself then writes the layer in its own form
// (whiteout devices, opaque directories, copied-up parents), and path resolution sees the
// stack: `bin/x` over a lower `bin -> usr/bin` lands in usr/bin, as in a full unpack.
Status apply_over_lowers(const std::string& cache, const std::vector<std::string>& lowers,
                         const std::string& tmp, const std::function<Status(int)>& apply) {
    if (geteuid() != 0) {
        if (!lowers.empty()) return apply_over_lowers_userns(cache, lowers, tmp, apply);
        // The bottom layer needs no view (and a normal user no mount namespace).
        UniqueFd root(open((cache + "/" + tmp + "/fs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return sys_error("open layer directory");
        return apply(root.get());
    }
    Status result = ok();
    std::thread t([&]() {
        result = [&]() -> Status {
            // CLONE_NEWNS implies CLONE_FS: this thread's cwd and mounts become its own.
            if (unshare(CLONE_NEWNS) < 0) return sys_error("unshare the mount namespace");
            if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
                return sys_error("make mounts private");
            if (chdir(cache.c_str()) < 0) return sys_error("chdir to the layer cache");
            std::string merged = tmp + "/merged";
            if (lowers.empty()) {
                UniqueFd root(open((tmp + "/fs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!root) return sys_error("open layer directory");
                return apply(root.get());
            }
            TRY(mkdir_p(tmp + "/work", 0700));
            TRY(mkdir_p(merged, 0700));
            // No redirects or metacopy: the upper must stay a self-contained layer that can
            // serve as a plain lower directory of any later mount.
            std::string data =
                TRY(layer_overlay_data(lowers, tmp, "redirect_dir=off,metacopy=off"));
            if (mount("overlay", merged.c_str(), "overlay", 0, data.c_str()) < 0)
                return sys_error("mount the lower layers");
            Status st = [&]() -> Status {
                UniqueFd root(open(merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!root) return sys_error("open the layer view");
                return apply(root.get());
            }();
            if (umount2(merged.c_str(), 0) < 0 && st) st = sys_error("unmount the layer view");
            (void)remove_all(tmp + "/work");
            rmdir(merged.c_str());
            return st;
        }();
    });
    t.join();
    return result;
}

// Extracts one layer into a temporary directory of the cache (returned relative to it;
// the caller renames it into place), over `lower_dirs` (relative to the cache, bottom first).
Result<std::string> extract_layer(const Store& store, const spec::Descriptor& desc,
                                  const std::string& diff_id, const std::string& cache,
                                  const std::string& hex,
                                  const std::vector<std::string>& lower_dirs,
                                  const layer::ApplyOptions& base, SkippedDevices& skipped) {
    std::string tmp = ".tmp-" + hex + "-" + std::to_string(getpid());
    std::string abs = cache + "/" + tmp;
    (void)remove_all(abs);
    TRY(mkdir_p(abs + "/fs", 0755));
    TRY(mkdir_p(abs + "/refs", 0700));
    auto st = [&]() -> Status {
        if (!lower_dirs.empty())
            TRY(copy_root_meta(cache + "/" + lower_dirs.back(), abs + "/fs", base.chown));
        std::vector<std::string> lowers(lower_dirs.rbegin(), lower_dirs.rend());
        return apply_over_lowers(cache, lowers, tmp, [&](int root) -> Status {
            BlobStream blob(TRY(store.open_blob(desc)));
            auto stream = layer::read_ahead(TRY(layer::open_layer_stream(
                std::unique_ptr<layer::Stream>(new BlobStream(std::move(blob))), desc.media_type,
                base.limits.max_expanded)));
            layer::ApplyOptions o = base;
            o.expected_diff_id = diff_id;
            auto r = TRY(layer::apply_tar(root, *stream, o));
            if (r.devices_skipped && !skipped.count) skipped.first = r.first_device_skipped;
            skipped.count += r.devices_skipped;
            return ok();
        });
    }();
    if (!st) {
        (void)remove_all(abs);
        return std::move(st).error().with_context("layer " + desc.digest.str());
    }
    return tmp;
}

}  // namespace

Status write_snapshot_file(const std::string& path, std::string_view data, mode_t mode) {
    std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(gettid());
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) return sys_error("create '" + tmp + "'");
    auto st = write_all(fd.get(), data);
    fd.reset();
    if (st && rename(tmp.c_str(), path.c_str()) < 0) st = sys_error("rename");
    if (!st) {
        unlink(tmp.c_str());
        return std::move(st).error().with_context("write '" + path + "'");
    }
    return ok();
}

std::string layer_cache_dir(const std::string& store_dir) {
    return store_dir + "/.berth/layers";
}

Result<std::vector<std::string>> ensure_layers(const Store& store, const Image& image,
                                               const layer::ApplyOptions& opts,
                                               SkippedDevices& skipped) {
    const auto& layers = image.layers();
    if (layers.size() != image.config.rootfs.diff_ids.size())
        return error("image has " + std::to_string(layers.size()) + " layers but " +
                     std::to_string(image.config.rootfs.diff_ids.size()) + " diff_ids");
    std::string cache = layer_cache_dir(store.dir());
    TRY(mkdir_p(cache, 0700));
    auto chains = chains_of(image);
    // Bottom-up, each layer over the ones below it (so one at a time: a layer's view needs
    // every lower layer complete). A chain id names a layer together with everything below
    // it, so the cache stays content-addressed and shared although each layer's content now
    // depends on its lowers (copied-up parents, whiteouts only where something was hidden).
    std::vector<std::string> dirs, made;
    auto discard = [&]() {
        for (auto& m : made)
            (void)remove_all(cache + "/" + m);
    };
    for (size_t i = 0; i < layers.size(); ++i) {
        if (path_exists(cache + "/" + chains[i] + "/fs")) {
            dirs.push_back(chains[i] + "/fs");
            continue;
        }
        auto tmp = extract_layer(store, layers[i], image.config.rootfs.diff_ids[i].str(), cache,
                                 chains[i], dirs, opts, skipped);
        if (!tmp) {
            discard();
            return std::move(tmp).error();
        }
        made.push_back(*tmp);
        dirs.push_back(*tmp + "/fs");
    }
    // Into their final names only once the whole stack is there.
    for (size_t i = 0, m = 0; i < layers.size(); ++i) {
        if (dirs[i] == chains[i] + "/fs") continue;
        const std::string& tmp = made[m++];
        // Another unpack finished the same layer first: theirs is as good as ours.
        if (rename((cache + "/" + tmp).c_str(), (cache + "/" + chains[i]).c_str()) < 0 &&
            errno != EEXIST && errno != ENOTEMPTY) {
            Error e = sys_error("rename layer into the cache");
            discard();
            return e;
        }
        (void)remove_all(cache + "/" + tmp);
    }
    return chains;
}

namespace {

// What both kinds of snapshot bundle share: the upper and work directories (the upper with
// the top layer's root owner, mode and times), the rootfs mount point, and the lowerdir list,
// top layer first (relative to the layer cache, or absolute when the runtime mounts it from
// another working directory).
struct SnapshotDirs {
    std::string cache, snap, lower;
};

Result<SnapshotDirs> make_snapshot_dirs(const std::string& store_dir,
                                        const std::vector<std::string>& chains,
                                        const std::string& bundle, bool keep_owner,
                                        bool absolute_lowers) {
    SnapshotDirs d{layer_cache_dir(store_dir), bundle + "/.snapshot", ""};
    TRY(mkdir_p(d.snap + "/upper", 0755));
    TRY(mkdir_p(d.snap + "/work", 0700));
    if (!chains.empty())
        TRY(copy_root_meta(d.cache + "/" + chains.back() + "/fs", d.snap + "/upper", keep_owner));
    TRY(mkdir_p(bundle + "/rootfs", 0755));
    if (chains.empty()) {
        TRY(mkdir_p(d.snap + "/empty", 0755));
        d.lower = d.snap + "/empty";
    }
    const std::string prefix = absolute_lowers ? d.cache + "/" : "";
    for (auto it = chains.rbegin(); it != chains.rend(); ++it)
        d.lower += (d.lower.empty() ? "" : ":") + prefix + *it + "/fs";
    return d;
}

// The layers' references to the bundle (so that a prune spares them) and its info.json.
Status record_snapshot(const SnapshotDirs& d, const std::vector<std::string>& chains,
                       const std::string& bundle, const nlohmann::json& info) {
    std::string id = ref_id(bundle);
    for (const auto& c : chains)
        TRY(write_snapshot_file(d.cache + "/" + c + "/refs/" + id, bundle, 0600));
    return write_snapshot_file(d.snap + "/info.json", info.dump(), 0600);
}

}  // namespace

Status mount_snapshot(const std::string& store_dir, const std::vector<std::string>& chains,
                      const std::string& bundle) {
    auto d = TRY(make_snapshot_dirs(store_dir, chains, bundle, geteuid() == 0, false));
    // References first: a prune racing this mount must already see the bundle.
    TRY(record_snapshot(d, chains, bundle, {{"store", store_dir}, {"layers", chains}}));
    // redirect_dir and metacopy off whatever the kernel's defaults: with them a renamed
    // directory or a chown-ed file lives in the upper as a pointer into the lowers, and the
    // upper would no longer be the layer `commit` reads it as (Docker's overlay2 turns them
    // off for the same reason). rename(2) of a lower directory then fails with EXDEV and
    // mv copies, as on Docker.
    std::string data = "lowerdir=" + d.lower + ",upperdir=" + d.snap + "/upper,workdir=" + d.snap +
                       "/work,redirect_dir=off,metacopy=off";
    if (data.size() >= 4000) return error("too many layers for one overlay mount");
    UniqueFd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!chains.empty() && chdir(d.cache.c_str()) < 0) return sys_error("chdir to the layer cache");
    int rc = mount("overlay", (bundle + "/rootfs").c_str(), "overlay", 0, data.c_str());
    int err = errno;
    if (cwd && fchdir(cwd.get()) < 0) {
    }
    if (rc < 0) return Error::sys(err, "mount overlay at '" + bundle + "/rootfs'");
    return ok();
}

Result<spec::Mount> prepare_runtime_snapshot(const std::string& store_dir,
                                             const std::vector<std::string>& chains,
                                             const std::string& bundle) {
    auto d = TRY(make_snapshot_dirs(store_dir, chains, bundle, false, true));
    // mount(2) options: ',' separates them and ':' the lower layers (overlayfs's own escapes
    // are not worth the risk for paths the user chose).
    for (const std::string& p : {d.cache, bundle})
        if (p.find_first_of(",:\\") != std::string::npos)
            return error("'" + p +
                         "' holds ',', ':' or '\\', which overlayfs options cannot carry");
    spec::Mount m;
    m.destination = "/";
    m.type = m.source = "overlay";
    m.options = {"lowerdir=" + d.lower, "upperdir=" + d.snap + "/upper",
                 "workdir=" + d.snap + "/work", "userxattr"};
    size_t size = 0;
    for (const auto& o : m.options)
        size += o.size() + 1;
    // The runtime passes them to mount(2), which takes one page.
    if (size >= 4000)
        return error("too many layers for a rootless snapshot: the overlay options (" +
                     std::to_string(size) + " bytes) exceed one page");
    TRY(record_snapshot(d, chains, bundle,
                        {{"store", store_dir}, {"layers", chains}, {"mount", "runtime"}}));
    return m;
}

Result<UniqueFd> open_runtime_snapshot(const spec::Mount& m, const std::string& bundle) {
    std::string data;
    for (const auto& o : m.options)
        data += (data.empty() ? "" : ",") + o;
    return userns_overlay("/", bundle + "/rootfs", data);
}

bool is_snapshot_bundle(const std::string& bundle) {
    return path_exists(bundle + "/.snapshot/info.json");
}

Status umount_snapshot(const std::string& bundle) {
    auto text = read_file(bundle + "/.snapshot/info.json", 1u << 20);
    if (!text) return error("'" + bundle + "' is not a snapshot bundle (no .snapshot/info.json)");
    std::string store;
    std::vector<std::string> chains;
    bool runtime_mount = false;
    try {
        auto j = nlohmann::json::parse(*text);
        store = j.at("store").get<std::string>();
        chains = j.at("layers").get<std::vector<std::string>>();
        runtime_mount = j.value("mount", "") == "runtime";
    } catch (const std::exception& e) {
        return error("'" + bundle + "/.snapshot/info.json': " + e.what());
    }
    std::string rootfs = bundle + "/rootfs";
    // A rootless snapshot is mounted by the runtime in each container's namespaces only.
    if (!runtime_mount && umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != ENOENT) {
        if (errno == EBUSY)
            return Error::sys(EBUSY, "unmount '" + rootfs + "' (is a container using it?)");
        return sys_error("unmount '" + rootfs + "'");
    }
    std::string id = ref_id(bundle);
    for (const auto& c : chains) {
        std::string ref = layer_cache_dir(store) + "/" + c + "/refs/" + id;
        if (unlink(ref.c_str()) < 0 && errno != ENOENT) return sys_error("remove '" + ref + "'");
    }
    return remove_all(bundle);
}

Result<size_t> prune_layers(const Store& store) {
    auto lock = TRY(store.exclusive());
    std::string cache = layer_cache_dir(store.dir());
    std::set<std::string> used;
    for (const auto& e : TRY(store.list())) {
        auto img = store.load_image(e.name);
        if (!img) continue;
        for (auto& c : chains_of(*img))
            used.insert(c);
    }
    size_t removed = 0;
    for (const auto& hex : TRY(list_dir(cache))) {
        std::string dir = cache + "/" + hex;
        bool referenced = false;
        for (const auto& r : TRY(list_dir(dir + "/refs"))) {
            // A reference whose bundle is gone (removed without umount) no longer counts.
            auto b = read_file(dir + "/refs/" + r, 1u << 16);
            if (b && is_snapshot_bundle(*b))
                referenced = true;
            else
                (void)unlink((dir + "/refs/" + r).c_str());
        }
        if (referenced || used.count(hex)) continue;
        TRY(remove_all(dir));
        ++removed;
    }
    (void)lock;
    return removed;
}

}  // namespace berth::image::bundle
