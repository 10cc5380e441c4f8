// Snapshot bundles over overlayfs. Layer extraction goes to a temporary directory renamed into
// place when complete, so a crash or a concurrent unpack never leaves a half layer under its
// final name. overlayfs mount options are limited to one page: lowerdirs are given relative
// to the cache directory (chdir around the mount) to fit ~60 layers.
#include "imagetool/bundle/snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "imagetool/layer/path.hpp"
#include "imagetool/layer/read_ahead.hpp"
#include "imagetool/layer/sha256.hpp"

namespace berth::image::bundle {
namespace {

class BlobStream : public layer::Stream {
  public:
    explicit BlobStream(BlobReader r) : r_(std::move(r)) {}
    Result<size_t> read(void* buf, size_t len) override { return r_.read(buf, len); }

  private:
    BlobReader r_;
};

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

struct Extracted {
    std::string tmp;  // empty when the layer was cached already
    std::vector<std::pair<std::string, std::string>> deferred_links;
};

Result<Extracted> extract_layer(const Store& store, const spec::Descriptor& desc,
                                const std::string& diff_id, const std::string& cache,
                                const std::string& hex, const layer::ApplyOptions& base) {
    Extracted out;
    if (path_exists(cache + "/" + hex + "/fs")) return out;
    out.tmp =
        cache + "/.tmp-" + hex + "-" + std::to_string(getpid()) + "-" + std::to_string(gettid());
    (void)remove_all(out.tmp);
    TRY(mkdir_p(out.tmp + "/fs", 0755));
    TRY(mkdir_p(out.tmp + "/refs", 0700));
    auto st = [&]() -> Status {
        UniqueFd root(open((out.tmp + "/fs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return sys_error("open layer directory");
        BlobStream blob(TRY(store.open_blob(desc)));
        auto stream = layer::read_ahead(TRY(layer::open_layer_stream(
            std::unique_ptr<layer::Stream>(new BlobStream(std::move(blob))), desc.media_type,
            base.limits.max_expanded)));
        layer::ApplyOptions o = base;
        o.whiteouts = layer::WhiteoutMode::overlay;
        o.expected_diff_id = diff_id;
        auto r = TRY(layer::apply_tar(root.get(), *stream, o));
        out.deferred_links = std::move(r.deferred_links);
        return ok();
    }();
    if (!st) {
        (void)remove_all(out.tmp);
        return std::move(st).error().with_context("layer " + desc.digest.str());
    }
    return out;
}

// True when `path` is hidden in layer dir `fs` by a whiteout or an opaque directory on the way.
bool hidden_below(int fs, const std::string& path) {
    std::string cur;
    auto comps = path_components(path);
    for (size_t i = 0; i < comps.size(); ++i) {
        cur += (cur.empty() ? "" : "/") + comps[i];
        struct stat st;
        if (fstatat(fs, cur.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return false;
        if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return true;
        if (i + 1 < comps.size() && S_ISDIR(st.st_mode)) {
            std::string p = "/proc/self/fd/" + std::to_string(fs) + "/" + cur;
            char v;
            if (lgetxattr(p.c_str(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') return true;
        }
    }
    return false;
}

// Links a layer's deferred hardlinks to their targets in the nearest lower layer that has
// them: the cache lives on one filesystem, so the link is a real one, as in a full unpack.
Status link_deferred(const std::vector<std::string>& dirs, size_t i,
                     const std::vector<std::pair<std::string, std::string>>& links) {
    UniqueFd top(open((dirs[i] + "/fs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!top) return sys_error("open layer");
    for (const auto& [path, target] : links) {
        bool done = false;
        for (size_t j = i; j-- > 0 && !done;) {
            UniqueFd fs(open((dirs[j] + "/fs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!fs) return sys_error("open layer");
            auto tp = layer::resolve_entry_parent(fs.get(), target, false);
            struct stat st;
            if (tp && fstatat(tp->dir.get(), tp->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                !(S_ISCHR(st.st_mode) && st.st_rdev == 0)) {
                if (S_ISDIR(st.st_mode))
                    return error("layer entry '" + path + "': hardlink target is a directory");
                auto pn = TRY(layer::resolve_entry_parent(top.get(), path, true));
                if (linkat(tp->dir.get(), tp->name.c_str(), pn.dir.get(), pn.name.c_str(), 0) < 0)
                    return sys_error("layer entry '" + path + "': link to '" + target + "'");
                done = true;
                break;
            }
            if (hidden_below(fs.get(), target)) break;
        }
        if (!done)
            return error("layer entry '" + path + "': hardlink target '" + target +
                         "' is in no lower layer");
    }
    return ok();
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
                                               const layer::ApplyOptions& opts, int jobs) {
    const auto& layers = image.layers();
    if (layers.size() != image.config.rootfs.diff_ids.size())
        return error("image has " + std::to_string(layers.size()) + " layers but " +
                     std::to_string(image.config.rootfs.diff_ids.size()) + " diff_ids");
    std::string cache = layer_cache_dir(store.dir());
    TRY(mkdir_p(cache, 0700));
    auto chains = chains_of(image);
    std::vector<Extracted> done(layers.size());
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::optional<Error> first;
    auto worker = [&]() {
        for (;;) {
            size_t i = next++;
            if (i >= layers.size()) return;
            auto r = extract_layer(store, layers[i], image.config.rootfs.diff_ids[i].str(), cache,
                                   chains[i], opts);
            std::lock_guard<std::mutex> g(mu);
            if (r) {
                done[i] = std::move(*r);
            } else {
                if (!first) first = std::move(r).error();
                next = layers.size();
            }
        }
    };
    size_t n = std::min<size_t>(std::max(jobs, 1), layers.size());
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i)
        threads.emplace_back(worker);
    worker();
    for (auto& t : threads)
        t.join();
    auto discard = [&]() {
        for (auto& d : done)
            if (!d.tmp.empty()) (void)remove_all(d.tmp);
    };
    if (first) {
        discard();
        return *first;
    }
    // Bottom-up: hardlinks into lower layers, then each finished layer into its final name.
    std::vector<std::string> dirs;
    for (size_t i = 0; i < layers.size(); ++i)
        dirs.push_back(done[i].tmp.empty() ? cache + "/" + chains[i] : done[i].tmp);
    for (size_t i = 0; i < layers.size(); ++i) {
        if (done[i].deferred_links.empty()) continue;
        if (auto st = link_deferred(dirs, i, done[i].deferred_links); !st) {
            discard();
            return std::move(st).error().with_context("layer " + layers[i].digest.str());
        }
    }
    for (size_t i = 0; i < layers.size(); ++i) {
        if (done[i].tmp.empty()) continue;
        // Another unpack finished the same layer first: theirs is as good as ours.
        if (rename(done[i].tmp.c_str(), (cache + "/" + chains[i]).c_str()) < 0 && errno != EEXIST &&
            errno != ENOTEMPTY) {
            Error e = sys_error("rename layer into the cache");
            discard();
            return e;
        }
        (void)remove_all(done[i].tmp);
    }
    return chains;
}

Status mount_snapshot(const std::string& store_dir, const std::vector<std::string>& chains,
                      const std::string& bundle) {
    std::string cache = layer_cache_dir(store_dir);
    std::string snap = bundle + "/.snapshot";
    TRY(mkdir_p(snap + "/upper", 0755));
    TRY(mkdir_p(snap + "/work", 0700));
    TRY(mkdir_p(bundle + "/rootfs", 0755));
    std::string id = ref_id(bundle);
    // References first: a prune racing this mount must already see the bundle.
    for (const auto& c : chains)
        TRY(write_snapshot_file(cache + "/" + c + "/refs/" + id, bundle, 0600));
    nlohmann::json info = {{"store", store_dir}, {"layers", chains}};
    TRY(write_snapshot_file(snap + "/info.json", info.dump(), 0600));

    std::string lower;
    if (chains.empty()) {
        TRY(mkdir_p(snap + "/empty", 0755));
        lower = snap + "/empty";
    }
    for (auto it = chains.rbegin(); it != chains.rend(); ++it)
        lower += (lower.empty() ? "" : ":") + *it + "/fs";
    std::string data =
        "lowerdir=" + lower + ",upperdir=" + snap + "/upper,workdir=" + snap + "/work";
    if (data.size() >= 4000) return error("too many layers for one overlay mount");
    UniqueFd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!chains.empty() && chdir(cache.c_str()) < 0) return sys_error("chdir to the layer cache");
    int rc = mount("overlay", (bundle + "/rootfs").c_str(), "overlay", 0, data.c_str());
    int err = errno;
    if (cwd && fchdir(cwd.get()) < 0) {
    }
    if (rc < 0) return Error::sys(err, "mount overlay at '" + bundle + "/rootfs'");
    return ok();
}

bool is_snapshot_bundle(const std::string& bundle) {
    return path_exists(bundle + "/.snapshot/info.json");
}

Status umount_snapshot(const std::string& bundle) {
    auto text = read_file(bundle + "/.snapshot/info.json", 1u << 20);
    if (!text) return error("'" + bundle + "' is not a snapshot bundle (no .snapshot/info.json)");
    std::string store;
    std::vector<std::string> chains;
    try {
        auto j = nlohmann::json::parse(*text);
        store = j.at("store").get<std::string>();
        chains = j.at("layers").get<std::vector<std::string>>();
    } catch (const std::exception& e) {
        return error("'" + bundle + "/.snapshot/info.json': " + e.what());
    }
    std::string rootfs = bundle + "/rootfs";
    if (umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
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
