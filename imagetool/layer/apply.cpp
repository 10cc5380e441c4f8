// Layer application. Every entry's parent is resolved in the root (layer/path.hpp) and the entry
// itself is made with *at() calls on that parent that never follow the last component; what
// was there before is unlinked, never written through. Owner before mode (chown clears setuid
// bits), xattrs after chown (it clears security.capability), directory mtimes last (creating
// their children changes them). The same code serves the full unpack and the snapshot cache
// (there the root is an overlay view of the lower layers), so both give one tree.
#include "imagetool/layer/apply.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>

#include "base/in_root.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/layer/path.hpp"
#include "imagetool/layer/unpriv.hpp"
#include "imagetool/layer/whiteout.hpp"

namespace berth::image::layer {
namespace {

constexpr size_t kMaxWarnings = 100;

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

class Applier {
  public:
    Applier(int root_fd, const ApplyOptions& opts) : root_(root_fd), opts_(opts) {}

    Result<ApplyResult> run(Stream& tar) {
        auto reader = TRY(TarReader::open(&tar, opts_.limits));
        Entry e;
        for (;;) {
            bool more = TRY(reader->next(e));
            if (!more) break;
            auto st = apply_entry(*reader, e);
            if (!st) return std::move(st).error().with_context("layer entry '" + e.name + "'");
        }
        TRY(set_dir_times());
        // After the times: a directory about to become 0000 must still be opened to set them
        // (a mode change leaves mtime alone).
        if (opts_.rootless) TRY(modes_.restore(root_));
        if (link_owners_)
            warn(std::to_string(link_owners_) + " symlink(s) owned by other ids: owner not " +
                 "recorded (the kernel refuses user.* xattrs on symlinks; first '" +
                 first_link_owner_ + "')");
        res_.devices_skipped = devices_;
        res_.first_device_skipped = first_device_;
        res_.entries = reader->entries();
        res_.diff_id = TRY(reader->finish());
        if (!opts_.expected_diff_id.empty() && res_.diff_id != opts_.expected_diff_id)
            return error("layer diff_id mismatch: expected " + opts_.expected_diff_id + ", got " +
                         res_.diff_id);
        return std::move(res_);
    }

  private:
    void warn(std::string w) {
        if (res_.warnings.size() < kMaxWarnings)
            res_.warnings.push_back(std::move(w));
        else
            ++res_.warnings_dropped;
    }

    // Parent lookups repeat for every file of a directory: the last one is kept, and dropped
    // whenever anything is removed (a removed directory could come back as a symlink).
    // The parent about to change keeps its times (see keep_times). Missing parents are made
    // for `implicit_for` (mode 0755, owner 0:0, that entry's mtime), else ENOENT.
    Result<ParentAndName> parent_of(const std::string& clean, const Entry* implicit_for) {
        size_t slash = clean.rfind('/');
        std::string parent = slash == std::string::npos ? "" : clean.substr(0, slash);
        if (cache_fd_.valid() && parent == cache_path_) {
            int d = fcntl(cache_fd_.get(), F_DUPFD_CLOEXEC, 3);
            if (d < 0) return sys_error("dup");
            return ParentAndName{UniqueFd(d), clean.substr(slash + 1)};
        }
        auto r = resolve_entry_parent(root_, clean);
        if (!r && opts_.rootless && r.error().code() == EACCES) {
            TRY(modes_.open_up_path(root_, clean));
            r = resolve_entry_parent(root_, clean);
        }
        if (!r && implicit_for && r.error().code() == ENOENT) {
            TRY(make_parents(clean, *implicit_for));
            r = resolve_entry_parent(root_, clean);
        }
        if (!r) return std::move(r).error();
        auto pn = std::move(r).value();
        TRY(keep_times(pn.dir.get()));
        if (opts_.rootless) TRY(modes_.open_up(pn.dir.get(), parent));
        int d = fcntl(pn.dir.get(), F_DUPFD_CLOEXEC, 3);
        if (d >= 0) {
            cache_fd_.reset(d);
            cache_path_ = parent;
        }
        return pn;
    }
    void invalidate() { cache_fd_.reset(); }

    // Directories a path needs and no layer made, made in order, each resolved in the root
    // like any entry's parent. Their times are the entry's, so both unpack modes agree (a
    // time of "now" would differ between any two unpacks).
    Status make_parents(const std::string& clean, const Entry& e) {
        auto comps = path_components(clean);
        std::string prefix;
        for (size_t i = 0; i + 1 < comps.size(); ++i) {
            prefix += (prefix.empty() ? "" : "/") + comps[i];
            auto pn = TRY(resolve_entry_parent(root_, prefix));
            struct stat st;
            if (fstatat(pn.dir.get(), pn.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
            if (errno != ENOENT) return sys_error("stat parent '" + prefix + "'");
            TRY(keep_times(pn.dir.get()));
            if (opts_.rootless) {
                size_t slash = prefix.rfind('/');
                TRY(modes_.open_up(pn.dir.get(),
                                   slash == std::string::npos ? "" : prefix.substr(0, slash)));
            }
            if (mkdirat(pn.dir.get(), pn.name.c_str(), 0700) < 0)
                return sys_error("create parent '" + prefix + "'");
            UniqueFd fd(openat(pn.dir.get(), pn.name.c_str(),
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!fd) return sys_error("open parent '" + prefix + "'");
            if (opts_.chown && fchown(fd.get(), 0, 0) < 0)
                return sys_error("chown '" + prefix + "'");
            if (fchmod(fd.get(), 0755) < 0) return sys_error("chmod '" + prefix + "'");
            struct timespec t[2] = {e.mtime, e.mtime};
            if (futimens(fd.get(), t) < 0) return sys_error("set times of '" + prefix + "'");
            mine_.add(prefix);
        }
        return ok();
    }

    // Writing an entry changes its parent directory's mtime; the parent keeps the times it
    // had (from its own entry, a lower layer, or make_parents), as umoci restores them, so
    // the tree does not depend on when it was unpacked. One directory is held at a time:
    // entries come grouped by directory, and a directory met again is simply kept again.
    Status keep_times(int dir_fd) {
        struct stat st;
        if (fstat(dir_fd, &st) < 0) return sys_error("stat parent");
        if (kept_fd_.valid() && st.st_dev == kept_dev_ && st.st_ino == kept_ino_) return ok();
        TRY(restore_times());
        int d = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (d < 0) return sys_error("dup");
        kept_fd_.reset(d);
        kept_dev_ = st.st_dev;
        kept_ino_ = st.st_ino;
        kept_times_ = {st.st_atim, st.st_mtim};
        return ok();
    }
    Status restore_times() {
        if (!kept_fd_.valid()) return ok();
        // Through /proc/self/fd: the fd may be O_PATH, which futimens refuses.
        std::string p = fd_path(kept_fd_.get());
        int rc = utimensat(AT_FDCWD, p.c_str(), kept_times_.data(), 0);
        kept_fd_.reset();
        if (rc < 0 && errno != ENOENT) return sys_error("restore directory times");
        return ok();
    }

    Status apply_entry(TarReader& reader, const Entry& e) {
        std::string clean = TRY(clean_entry_path(e.name));
        if (clean.empty()) return apply_root(e);
        Whiteout wo = TRY(parse_whiteout(clean));
        if (wo.kind != WhiteoutKind::none) return apply_whiteout(clean, wo);
        // A 0/0 character device is overlayfs's whiteout: in a snapshot it would hide the
        // name instead of being a device, so neither mode makes it.
        if (e.type == EntryType::chr && e.dev_major == 0 && e.dev_minor == 0) {
            warn("'" + e.name + "': character device 0/0 (an overlay whiteout) skipped");
            return ok();
        }

        auto pn = TRY(parent_of(clean, &e));
        int dir = pn.dir.get();
        const std::string& name = pn.name;
        struct stat st;
        bool exists = fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno != ENOENT) return sys_error("stat");
        if (exists && !(e.type == EntryType::dir && S_ISDIR(st.st_mode))) {
            // Spec: a later entry replaces the earlier one, a directory included; a symlink
            // in its place is removed, never followed.
            if (e.type == EntryType::hardlink && TRY(clean_entry_path(e.link)) == clean)
                return ok();  // a link to itself: nothing to do
            invalidate();
            TRY(remove_tree(dir, name));
        }
        switch (e.type) {
            case EntryType::dir:
                TRY(make_dir(dir, name, clean, e, exists && S_ISDIR(st.st_mode)));
                break;
            case EntryType::file:
                TRY(make_file(reader, dir, name, e));
                break;
            case EntryType::symlink:
                TRY(make_symlink(dir, name, e));
                break;
            case EntryType::hardlink:
                if (!TRY(make_hardlink(dir, name, e))) return ok();
                break;
            case EntryType::chr:
            case EntryType::blk:
            case EntryType::fifo:
                if (!TRY(make_node(dir, name, e))) return ok();
                break;
            case EntryType::socket:
                warn("'" + e.name + "': socket skipped");
                return ok();
        }
        mine_.add(clean);
        return ok();
    }

    // "./" carries the root's own metadata. Anything but a directory there is the
    // CVE-2021-29136 shape (umoci followed a "/" symlink out of the rootfs).
    Status apply_root(const Entry& e) {
        if (e.type != EntryType::dir)
            return error(
                "the layer root must be a directory; a non-directory '/' entry is refused "
                "(CVE-2021-29136)");
        UniqueFd fd(openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd) return sys_error("open root");
        TRY(set_owner_mode(fd.get(), e, ""));
        dir_times_.push_back({"", times_of(e)});
        return ok();
    }

    // A whiteout's directory resolves like any entry's parent: through a symlink a lower layer
    // made, while it stays inside the root (refused otherwise), so `bin/.wh.sh` over
    // `bin -> usr/bin` removes usr/bin/sh in both modes, as containerd does.
    Status apply_whiteout(const std::string& clean, const Whiteout& wo) {
        if (wo.kind == WhiteoutKind::ignored) return ok();
        invalidate();
        if (wo.kind == WhiteoutKind::opaque) {
            UniqueFd d;
            auto pn = parent_of(clean, nullptr);
            // Nothing lower to hide, or a lower non-directory the layer's own entry replaces.
            if (!pn) {
                int c = pn.error().code();
                return c == ENOENT || c == ENOTDIR ? ok() : Status(std::move(pn).error());
            }
            d.reset(openat(pn->dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!d) return sys_error("open opaque directory");
            invalidate();
            return clear_lower_children(d.get(), wo.target, mine_);
        }
        auto pn = parent_of(wo.target, nullptr);
        if (!pn) {
            // The hidden entry's directory does not exist: there is nothing to hide.
            if (pn.error().code() == ENOENT || pn.error().code() == ENOTDIR) return ok();
            return std::move(pn).error();
        }
        return remove_lower(pn->dir.get(), pn->name, wo.target, mine_);
    }

    static std::array<struct timespec, 2> times_of(const Entry& e) {
        return {e.has_atime ? e.atime : e.mtime, e.mtime};
    }

    // `dir`: the directory's path when fd is one. Rootless, a directory stays rwx for its
    // owner until the layer is done: its own entries come after it.
    Status set_owner_mode(int fd, const Entry& e, const std::optional<std::string>& dir = {}) {
        if (opts_.chown && fchown(fd, e.uid, e.gid) < 0) return sys_error("chown");
        mode_t mode = e.perm;
        if (opts_.rootless && dir) {
            modes_.set_final(*dir, mode);
            mode |= 0700;
        }
        // Setting a user.* xattr needs write permission on the file: rootless, while the
        // file is still 0600, before a 0400 or 0000 mode.
        if (opts_.rootless) TRY(set_xattrs(fd_path(fd), e, false));
        if (fchmod(fd, mode) < 0) return sys_error("chmod");
        return opts_.rootless ? ok() : set_xattrs(fd_path(fd), e, false);
    }

    Status set_xattrs(const std::string& path, const Entry& e, bool nofollow) {
        if (opts_.rootless) TRY(set_rootless_owner(path, e, nofollow));
        for (const auto& x : e.xattrs) {
            // Rootless, the owner recorded is the entry's, never one the layer claims.
            if (opts_.rootless && x.name == kRootlessXattr) continue;
            // overlayfs reads trusted.overlay.* as its own metadata (opaque, redirect): a layer
            // must not be able to steer the snapshot's overlay, nor differ between the modes.
            if (x.name.starts_with("trusted.overlay.")) {
                warn("'" + e.name + "': xattr '" + x.name + "' skipped (overlayfs metadata)");
                continue;
            }
            int rc =
                nofollow
                    ? lsetxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0)
                    : setxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0);
            if (rc == 0) continue;
            // Unprivileged callers cannot set trusted.*/security.*, some filesystems have no
            // user.*: the file is still right, the attribute is reported.
            if (errno == EPERM || errno == ENOTSUP || errno == EACCES) {
                warn("'" + e.name + "': xattr '" + x.name + "' not kept: " + std::strerror(errno));
                continue;
            }
            return sys_error("set xattr '" + x.name + "'");
        }
        return ok();
    }

    // The owner the caller cannot give, recorded where rootless runtimes and tools
    // (umoci, PRoot, runROOTLESS) read it.
    Status set_rootless_owner(const std::string& path, const Entry& e, bool nofollow) {
        if (!opts_.record_owners) return ok();
        std::string v = rootless_xattr(uint32_t(e.uid), uint32_t(e.gid));
        if (v.empty()) return ok();
        int rc = nofollow ? lsetxattr(path.c_str(), kRootlessXattr, v.data(), v.size(), 0)
                          : setxattr(path.c_str(), kRootlessXattr, v.data(), v.size(), 0);
        if (rc == 0) return ok();
        if (nofollow && errno == EPERM) {
            if (link_owners_++ == 0) first_link_owner_ = e.name;
            return ok();
        }
        return sys_error(std::string("set xattr '") + kRootlessXattr + "'");
    }

    Status make_dir(int dir, const std::string& name, const std::string& clean, const Entry& e,
                    bool existed) {
        if (!existed && mkdirat(dir, name.c_str(), 0700) < 0) return sys_error("mkdir");
        UniqueFd fd(openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_error("open directory");
        TRY(set_owner_mode(fd.get(), e, clean));
        dir_times_.push_back({clean, times_of(e)});
        return ok();
    }

    Status make_file(TarReader& reader, int dir, const std::string& name, const Entry& e) {
        UniqueFd fd(
            openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return sys_error("create");
        int64_t end = 0;
        TRY(reader.read_data([&](int64_t off, const void* buf, size_t len) -> Status {
            const char* p = static_cast<const char*>(buf);
            while (len > 0) {
                ssize_t n = pwrite(fd.get(), p, len, off);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    return sys_error("write");
                }
                p += n;
                off += n;
                len -= size_t(n);
                res_.bytes += uint64_t(n);
            }
            end = std::max(end, off);
            return ok();
        }));
        // Sparse files end in a hole the data blocks do not reach.
        if (end < e.size && ftruncate(fd.get(), e.size) < 0) return sys_error("truncate");
        TRY(set_owner_mode(fd.get(), e));
        auto t = times_of(e);
        if (futimens(fd.get(), t.data()) < 0) return sys_error("set times");
        return ok();
    }

    Status make_symlink(int dir, const std::string& name, const Entry& e) {
        // The target is stored verbatim: it is only ever resolved in the root, later.
        if (symlinkat(e.link.c_str(), dir, name.c_str()) < 0) return sys_error("symlink");
        if (opts_.chown && fchownat(dir, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("chown symlink");
        if (!e.xattrs.empty() || opts_.rootless)
            TRY(set_xattrs(fd_path(dir) + "/" + name, e, true));
        auto t = times_of(e);
        if (utimensat(dir, name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("set symlink times");
        return ok();
    }

    Result<bool> make_hardlink(int dir, const std::string& name, const Entry& e) {
        std::string target = TRY_CTX(clean_entry_path(e.link), "hardlink target '" + e.link + "'");
        if (target.empty()) return error("hardlink to the root directory");
        auto tp = resolve_entry_parent(root_, target);
        struct stat st;
        bool found = tp && fstatat(tp->dir.get(), tp->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!found) {
            int err = tp ? errno : tp.error().code();
            if (!tp) return std::move(tp).error().with_context("hardlink target '" + e.link + "'");
            return Error::sys(err, "hardlink target '" + e.link + "'");
        }
        if (S_ISDIR(st.st_mode))
            return Error::sys(EPERM, "hardlink target '" + e.link + "' is a directory");
        // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        if (linkat(tp->dir.get(), tp->name.c_str(), dir, name.c_str(), 0) < 0)
            return sys_error("link to '" + e.link + "'");
        return true;
    }

    Result<bool> make_node(int dir, const std::string& name, const Entry& e) {
        mode_t type = e.type == EntryType::chr   ? S_IFCHR
                      : e.type == EntryType::blk ? S_IFBLK
                                                 : S_IFIFO;
        // Counted, not made: the caller says so once for the whole unpack (devices_skipped).
        if (type != S_IFIFO && (opts_.rootless || !opts_.mknod)) return skip_device(e);
        if (mknodat(dir, name.c_str(), type | 0600, makedev(e.dev_major, e.dev_minor)) < 0) {
            if (errno == EPERM && type != S_IFIFO) return skip_device(e);
            return sys_error("mknod");
        }
        // O_PATH: opening a device or fifo for real would have side effects (or block).
        UniqueFd fd(openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_error("open node");
        if (opts_.chown && fchownat(fd.get(), "", e.uid, e.gid, AT_EMPTY_PATH) < 0)
            return sys_error("chown node");
        std::string p = fd_path(fd.get());
        if (opts_.rootless) TRY(set_xattrs(p, e, false));  // before the mode (see above)
        if (chmod(p.c_str(), e.perm) < 0) return sys_error("chmod node");
        if (!opts_.rootless) TRY(set_xattrs(p, e, false));
        auto t = times_of(e);
        if (utimensat(AT_FDCWD, p.c_str(), t.data(), 0) < 0) return sys_error("set node times");
        return true;
    }

    // umoci --rootless leaves an empty file with the device's mode; an empty file where
    // /dev/null should be only misleads (a runtime makes /dev itself), so nothing is made.
    bool skip_device(const Entry& e) {
        if (devices_++ == 0) first_device_ = e.name;
        return false;
    }

    Status set_dir_times() {
        TRY(restore_times());
        for (const auto& [path, t] : dir_times_) {
            auto fd = open_in_root(root_, path, O_RDONLY | O_DIRECTORY, 0, kInRootNoFollowLast);
            if (!fd) {
                int c = fd.error().code();
                if (c == ENOENT || c == ENOTDIR || c == ELOOP) continue;  // replaced later
                return std::move(fd).error().with_context("set times of '" + path + "'");
            }
            if (futimens(fd->get(), t.data()) < 0) return sys_error("set times of '" + path + "'");
        }
        return ok();
    }

    int root_;
    const ApplyOptions& opts_;
    ApplyResult res_;
    LayerEntries mine_;
    DirModes modes_;  // rootless: directories held open to their owner
    uint64_t devices_ = 0, link_owners_ = 0;
    std::string first_device_, first_link_owner_;
    std::vector<std::pair<std::string, std::array<struct timespec, 2>>> dir_times_;
    std::string cache_path_;
    UniqueFd cache_fd_;
    UniqueFd kept_fd_;
    dev_t kept_dev_ = 0;
    ino_t kept_ino_ = 0;
    std::array<struct timespec, 2> kept_times_{};
};

}  // namespace

std::string devices_skipped_warning(uint64_t n, const std::string& first) {
    return std::to_string(n) + " device node(s) skipped: mknod needs privilege (first '" + first +
           "')";
}

ApplyOptions default_apply_options() {
    ApplyOptions o;
    o.rootless = geteuid() != 0;
    o.chown = o.mknod = !o.rootless;
    return o;
}

Result<ApplyResult> apply_tar(int root_fd, Stream& tar, const ApplyOptions& opts) {
    ApplyOptions o = opts;
    if (o.rootless) o.chown = o.mknod = false;
    Applier a(root_fd, o);
    return a.run(tar);
}

Result<ApplyResult> apply_layer(int root_fd, int blob_fd, std::string_view media_type,
                                const ApplyOptions& opts) {
    auto s = TRY(open_layer_stream(blob_fd, media_type, opts.limits.max_expanded));
    return apply_tar(root_fd, *s, opts);
}

}  // namespace berth::image::layer
