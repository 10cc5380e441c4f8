// Layer application. Every entry's parent is resolved in the root (layer/path.hpp) and the entry
// itself is made with *at() calls on that parent that never follow the last component; what
// was there before is unlinked, never written through. Owner before mode (chown clears setuid
// bits), xattrs after chown (it clears security.capability), directory mtimes last (creating
// their children changes them).
#include "imagetool/layer/apply.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "base/in_root.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/layer/path.hpp"
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
    Result<ParentAndName> parent_of(const std::string& clean, bool create) {
        size_t slash = clean.rfind('/');
        std::string parent = slash == std::string::npos ? "" : clean.substr(0, slash);
        if (cache_fd_.valid() && parent == cache_path_) {
            int d = fcntl(cache_fd_.get(), F_DUPFD_CLOEXEC, 3);
            if (d < 0) return sys_error("dup");
            return ParentAndName{UniqueFd(d), clean.substr(slash + 1)};
        }
        auto pn = TRY(resolve_entry_parent(root_, clean, create));
        int d = fcntl(pn.dir.get(), F_DUPFD_CLOEXEC, 3);
        if (d >= 0) {
            cache_fd_.reset(d);
            cache_path_ = parent;
        }
        return pn;
    }
    void invalidate() { cache_fd_.reset(); }

    Status apply_entry(TarReader& reader, const Entry& e) {
        std::string clean = TRY(clean_entry_path(e.name));
        if (clean.empty()) return apply_root(e);
        Whiteout wo = TRY(parse_whiteout(clean));
        if (wo.kind != WhiteoutKind::none) return apply_whiteout(wo);

        auto pn = TRY(parent_of(clean, true));
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
                if (!TRY(make_hardlink(dir, name, clean, e))) return ok();
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
        TRY(set_owner_mode(fd.get(), e));
        dir_times_.push_back({"", times_of(e)});
        return ok();
    }

    Status apply_whiteout(const Whiteout& wo) {
        if (wo.kind == WhiteoutKind::ignored) return ok();
        invalidate();
        if (opts_.whiteouts == WhiteoutMode::overlay) {
            if (wo.kind == WhiteoutKind::opaque) {
                UniqueFd d = TRY(wo.target.empty() ? dup_root() : mkdir_dir(wo.target));
                return mark_overlay_opaque(d.get());
            }
            auto pn = TRY(parent_of(wo.target, true));
            // This layer's own entry of that name wins over its whiteout.
            if (mine_.created(wo.target)) return ok();
            TRY(remove_tree(pn.dir.get(), pn.name));
            return make_overlay_whiteout(pn.dir.get(), pn.name);
        }
        if (wo.kind == WhiteoutKind::opaque) {
            UniqueFd d;
            if (wo.target.empty()) {
                d.reset(openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            } else {
                auto pn = parent_of(wo.target, false);
                if (!pn) return pn.error().code() == ENOENT ? ok() : Status(std::move(pn).error());
                d.reset(openat(pn->dir.get(), pn->name.c_str(),
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                // Nothing lower to hide, or a lower non-directory the layer's own entry replaces.
                if (!d && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return ok();
            }
            if (!d) return sys_error("open opaque directory");
            return clear_lower_children(d.get(), wo.target, mine_);
        }
        auto pn = parent_of(wo.target, false);
        if (!pn) {
            // The hidden entry's directory does not exist: there is nothing to hide.
            if (pn.error().code() == ENOENT || pn.error().code() == ENOTDIR) return ok();
            return std::move(pn).error();
        }
        return remove_lower(pn->dir.get(), pn->name, wo.target, mine_);
    }

    Result<UniqueFd> dup_root() {
        UniqueFd d(openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d) return sys_error("open root");
        return d;
    }
    Result<UniqueFd> mkdir_dir(const std::string& clean) {
        auto pn = TRY(parent_of(clean, true));
        if (mkdirat(pn.dir.get(), pn.name.c_str(), 0755) < 0 && errno != EEXIST)
            return sys_error("mkdir '" + clean + "'");
        UniqueFd d(
            openat(pn.dir.get(), pn.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return sys_error("open '" + clean + "'");
        mine_.add(clean);
        return d;
    }

    static std::array<struct timespec, 2> times_of(const Entry& e) {
        return {e.has_atime ? e.atime : e.mtime, e.mtime};
    }

    Status set_owner_mode(int fd, const Entry& e) {
        if (opts_.chown && fchown(fd, e.uid, e.gid) < 0) return sys_error("chown");
        if (fchmod(fd, e.perm) < 0) return sys_error("chmod");
        return set_xattrs(fd_path(fd), e, false);
    }

    Status set_xattrs(const std::string& path, const Entry& e, bool nofollow) {
        for (const auto& x : e.xattrs) {
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

    Status make_dir(int dir, const std::string& name, const std::string& clean, const Entry& e,
                    bool existed) {
        if (!existed && mkdirat(dir, name.c_str(), 0700) < 0) return sys_error("mkdir");
        UniqueFd fd(openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_error("open directory");
        TRY(set_owner_mode(fd.get(), e));
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
        if (!e.xattrs.empty()) TRY(set_xattrs(fd_path(dir) + "/" + name, e, true));
        auto t = times_of(e);
        if (utimensat(dir, name.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("set symlink times");
        return ok();
    }

    Result<bool> make_hardlink(int dir, const std::string& name, const std::string& clean,
                               const Entry& e) {
        std::string target = TRY_CTX(clean_entry_path(e.link), "hardlink target '" + e.link + "'");
        if (target.empty()) return error("hardlink to the root directory");
        auto tp = resolve_entry_parent(root_, target, false);
        struct stat st;
        bool found = tp && fstatat(tp->dir.get(), tp->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!found) {
            int err = tp ? errno : tp.error().code();
            // A snapshot layer is extracted alone: its link may point into a lower layer.
            if (opts_.whiteouts == WhiteoutMode::overlay && (err == ENOENT || err == ENOTDIR)) {
                res_.deferred_links.emplace_back(clean, target);
                return false;
            }
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
        if (type != S_IFIFO && !opts_.mknod) {
            warn("'" + e.name + "': device node skipped (not root)");
            return false;
        }
        if (mknodat(dir, name.c_str(), type | 0600, makedev(e.dev_major, e.dev_minor)) < 0) {
            if (errno == EPERM && type != S_IFIFO) {
                warn("'" + e.name + "': device node skipped: " + std::strerror(errno));
                return false;
            }
            return sys_error("mknod");
        }
        // O_PATH: opening a device or fifo for real would have side effects (or block).
        UniqueFd fd(openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_error("open node");
        if (opts_.chown && fchownat(fd.get(), "", e.uid, e.gid, AT_EMPTY_PATH) < 0)
            return sys_error("chown node");
        std::string p = fd_path(fd.get());
        if (chmod(p.c_str(), e.perm) < 0) return sys_error("chmod node");
        TRY(set_xattrs(p, e, false));
        auto t = times_of(e);
        if (utimensat(AT_FDCWD, p.c_str(), t.data(), 0) < 0) return sys_error("set node times");
        return true;
    }

    Status set_dir_times() {
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
    std::vector<std::pair<std::string, std::array<struct timespec, 2>>> dir_times_;
    std::string cache_path_;
    UniqueFd cache_fd_;
};

}  // namespace

ApplyOptions default_apply_options() {
    ApplyOptions o;
    o.chown = o.mknod = geteuid() == 0;
    return o;
}

Result<ApplyResult> apply_tar(int root_fd, Stream& tar, const ApplyOptions& opts) {
    Applier a(root_fd, opts);
    return a.run(tar);
}

Result<ApplyResult> apply_layer(int root_fd, int blob_fd, std::string_view media_type,
                                const ApplyOptions& opts) {
    auto s = TRY(open_layer_stream(blob_fd, media_type, opts.limits.max_expanded));
    return apply_tar(root_fd, *s, opts);
}

}  // namespace berth::image::layer
