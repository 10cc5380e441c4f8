// COPY: files are streamed with copy_file_range, then owner, mode (after chown, which clears
// set-id bits) and mtime (Docker keeps the source's) are set on the open fd. Entries the
// .dockerignore leaves out are skipped during the walk; an excluded directory is still walked
// when a `!` pattern could bring back something below it, and removed again if nothing came.
#include "imagetool/build/copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/in_root.hpp"
#include "base/mountinfo.hpp"
#include "imagetool/build/archive.hpp"

namespace berth::image::build {
namespace {

std::string join_rel(const std::string& rel, const std::string& name) {
    return rel.empty() || rel == "." ? name : rel + "/" + name;
}

unsigned source_flags(const CopySpec& spec) {
    return spec.from_rootfs ? kInRootNone : kInRootBeneath;
}

uid_t owner_uid(const struct stat& st, const CopySpec& spec) {
    return spec.keep_owner ? st.st_uid : spec.uid;
}
gid_t owner_gid(const struct stat& st, const CopySpec& spec) {
    return spec.keep_owner ? st.st_gid : spec.gid;
}

Status set_meta(int fd, const struct stat& st, const CopySpec& spec, const std::string& what) {
    if (fchown(fd, owner_uid(st, spec), owner_gid(st, spec)) < 0) return sys_error("chown " + what);
    mode_t mode = spec.mode ? *spec.mode : (st.st_mode & 07777);
    if (fchmod(fd, mode) < 0) return sys_error("chmod " + what);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (futimens(fd, ts) < 0) return sys_error("set times of " + what);
    return ok();
}

Status copy_file(int src_fd, const struct stat& st, int dir_fd, const std::string& name,
                 const CopySpec& spec, const std::string& what) {
    int fl = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd out(openat(dir_fd, name.c_str(), fl, 0600));
    if (!out && (errno == ELOOP || errno == EISDIR || errno == ETXTBSY)) {
        // A symlink (never written through) or an empty directory in the image: replaced.
        if (unlinkat(dir_fd, name.c_str(), 0) < 0 && errno == EISDIR)
            unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
        out = UniqueFd(openat(dir_fd, name.c_str(), fl, 0600));
    }
    if (!out) return sys_error("create " + what);
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = copy_file_range(src_fd, nullptr, out.get(), nullptr, size_t(left), 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
            char buf[65536];
            n = read(src_fd, buf, sizeof buf);
            if (n > 0 && write(out.get(), buf, size_t(n)) != n) return sys_error("write " + what);
        }
        if (n < 0) return sys_error("copy " + what);
        if (n == 0) break;  // the source shrank while we read it
        left -= n;
    }
    return set_meta(out.get(), st, spec, what);
}

// Each returns whether it copied anything (an excluded directory with nothing brought back
// is removed again).
Result<bool> copy_entry(int src_dir, const std::string& name, int dst_dir,
                        const std::string& dst_name, const CopySpec& spec, const std::string& what,
                        const std::string& rel, bool excluded);

Result<bool> copy_dir_contents(int src_fd, int dst_fd, const CopySpec& spec,
                               const std::string& what, const std::string& rel) {
    int dup_fd = fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return sys_error("dup " + what);
    DIR* d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return sys_error("read directory " + what);
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int err = errno;
    closedir(d);
    if (err) return Error::sys(err, "read directory " + what);
    bool any = false;
    for (const auto& n : names) {
        std::string r = join_rel(rel, n);
        bool ex = spec.ignore && spec.ignore->excluded(r);
        any = TRY(copy_entry(src_fd, n, dst_fd, n, spec, what + "/" + n, r, ex)) || any;
    }
    return any;
}

Result<bool> copy_entry(int src_dir, const std::string& name, int dst_dir,
                        const std::string& dst_name, const CopySpec& spec, const std::string& what,
                        const std::string& rel, bool excluded) {
    struct stat st;
    if (fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error("stat " + what);
    if (excluded && !(S_ISDIR(st.st_mode) && spec.ignore->has_exceptions())) return false;
    if (S_ISDIR(st.st_mode)) {
        UniqueFd s(openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) return sys_error("open " + what);
        bool made = mkdirat(dst_dir, dst_name.c_str(), 0700) == 0;
        if (!made && errno != EEXIST) return sys_error("mkdir " + what);
        UniqueFd d(
            openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return sys_error("open destination of " + what);
        bool any = TRY(copy_dir_contents(s.get(), d.get(), spec, what, rel));
        if (excluded && !any) {
            if (made) unlinkat(dst_dir, dst_name.c_str(), AT_REMOVEDIR);
            return false;
        }
        TRY(set_meta(d.get(), st, spec, what));
        return true;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(src_dir, name.c_str(), target, sizeof target - 1);
        if (n < 0) return sys_error("readlink " + what);
        target[n] = 0;
        unlinkat(dst_dir, dst_name.c_str(), 0);
        if (symlinkat(target, dst_dir, dst_name.c_str()) < 0) return sys_error("symlink " + what);
        if (fchownat(dst_dir, dst_name.c_str(), owner_uid(st, spec), owner_gid(st, spec),
                     AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("chown " + what);
        return true;
    }
    if (!S_ISREG(st.st_mode)) return error(what + ": not a regular file, directory or symlink");
    UniqueFd s(openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return sys_error("open " + what);
    TRY(copy_file(s.get(), st, dst_dir, dst_name, spec, what));
    return true;
}

// In a rootfs ".." stops at its root, as the kernel's RESOLVE_IN_ROOT does.
std::string rootfs_relative(const std::string& source) {
    std::string p = clean_path("/" + source);  // "/a/b", or "/" for the root itself
    return p == "/" ? std::string(".") : p.substr(1);
}

Result<std::string> source_relative(const std::string& s, const CopySpec& spec) {
    return spec.from_rootfs ? rootfs_relative(s) : context_relative(s);
}

Status expand_into(int root_fd, const std::vector<std::string>& parts, size_t i,
                   const std::string& rel, unsigned flags, std::vector<std::string>& out) {
    if (i == parts.size()) {
        out.push_back(rel);
        return ok();
    }
    const std::string& p = parts[i];
    if (!has_wildcard(p)) {
        std::string next = join_rel(rel, p);
        auto fd = open_in_root(root_fd, next, O_PATH, 0, flags);
        if (!fd) {
            if (fd.error().code() == ENOENT || fd.error().code() == ENOTDIR) return ok();
            return std::move(fd).error().with_context(next);
        }
        return expand_into(root_fd, parts, i + 1, next, flags, out);
    }
    auto dir = open_in_root(root_fd, rel.empty() ? "." : rel, O_RDONLY | O_DIRECTORY, 0, flags);
    if (!dir) {
        if (dir.error().code() == ENOENT || dir.error().code() == ENOTDIR) return ok();
        return std::move(dir).error().with_context(rel);
    }
    DIR* d = fdopendir(dir->release());
    if (!d) return sys_error("read directory " + rel);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != ".." && match_component(p, n)) names.push_back(std::move(n));
    }
    int err = errno;
    closedir(d);
    if (err) return Error::sys(err, "read directory " + rel);
    std::sort(names.begin(), names.end());
    for (const auto& n : names)
        TRY(expand_into(root_fd, parts, i + 1, join_rel(rel, n), flags, out));
    return ok();
}

// mkdir -p of a destination directory; the directories it makes get the step's owner
// (--chown), as Docker's MkdirAllAndChownNew and buildah give them; existing ones keep theirs.
Result<UniqueFd> make_dest_dir(int rootfs_fd, const std::string& dir, const CopySpec& spec) {
    std::vector<std::string> made;
    std::string prefix;
    for (const auto& c : path_components(dir)) {
        prefix += "/" + c;
        if (!made.empty() || !open_in_root(rootfs_fd, prefix, O_PATH | O_DIRECTORY))
            made.push_back(prefix);
    }
    auto fd = TRY(mkdir_all_in_root(rootfs_fd, dir));
    if (spec.uid != 0 || spec.gid != 0)
        for (const auto& m : made) {
            UniqueFd d = TRY(open_in_root(rootfs_fd, m, O_RDONLY | O_DIRECTORY));
            if (fchown(d.get(), spec.uid, spec.gid) < 0) return sys_error("chown " + m);
        }
    return fd;
}

}  // namespace

Result<std::string> context_relative(const std::string& source) {
    std::vector<std::string> out;
    for (const auto& c : path_components(source)) {
        if (c == ".") continue;
        if (c == "..") {
            if (out.empty()) return error("source '" + source + "' is outside the build context");
            out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    std::string r;
    for (const auto& c : out)
        r += (r.empty() ? "" : "/") + c;
    return r.empty() ? std::string(".") : r;
}

Result<std::vector<std::string>> expand_source(int source_fd, const std::string& pattern,
                                               bool from_rootfs, const IgnoreRules* ignore) {
    CopySpec probe;
    probe.from_rootfs = from_rootfs;
    std::string rel = TRY(source_relative(pattern, probe));
    std::vector<std::string> parts = rel == "." ? std::vector<std::string>{} : path_components(rel);
    std::vector<std::string> found;
    TRY(expand_into(source_fd, parts, 0, "", from_rootfs ? kInRootNone : kInRootBeneath, found));
    std::vector<std::string> out;
    for (auto& f : found)
        if (!ignore || !ignore->excluded(f)) out.push_back(std::move(f));
    return out;
}

Status copy_into(int source_fd, int rootfs_fd, const CopySpec& spec) {
    struct Src {
        std::string text, rel;
        UniqueFd fd;
        struct stat st;
    };
    std::vector<Src> srcs;
    std::vector<std::pair<Src, ArchiveKind>> archives;
    for (const auto& s : spec.sources) {
        std::string rel = TRY(source_relative(s, spec));
        if (spec.ignore && spec.ignore->excluded(rel))
            return error("source '" + s + "' is excluded by .dockerignore");
        // Beneath, not in-root: a symlink out of the context is the author's mistake, and
        // clamping it would copy some other file of the context without a word.
        auto fd = open_in_root(source_fd, rel, O_PATH, 0, source_flags(spec));
        if (!fd) {
            if (fd.error().code() == EXDEV)
                return error("source '" + s + "' is outside the build context");
            return std::move(fd).error().with_context("source '" + s + "'");
        }
        Src x{s, rel, std::move(*fd), {}};
        if (fstat(x.fd.get(), &x.st) < 0) return sys_error("stat source '" + s + "'");
        if (spec.unpack_archives && S_ISREG(x.st.st_mode)) {
            UniqueFd rd = TRY(open_in_root(source_fd, rel, O_RDONLY, 0, source_flags(spec)));
            auto kind = archive_kind(rd.get());
            if (!kind) return std::move(kind).error().with_context("source '" + s + "'");
            if (*kind != ArchiveKind::none) {
                x.fd = std::move(rd);
                archives.emplace_back(std::move(x), *kind);
                continue;
            }
        }
        srcs.push_back(std::move(x));
    }
    // An archive is unpacked into dest as a directory, as Docker does.
    for (auto& [a, kind] : archives) {
        auto made = TRY(make_dest_dir(rootfs_fd, spec.dest, spec));
        UniqueFd dst = TRY(open_in_root(made.get(), ".", O_RDONLY | O_DIRECTORY));
        if (auto st = unpack_archive(a.fd.get(), kind, dst.get()); !st)
            return std::move(st).error().with_context("unpack '" + a.text + "'");
    }
    if (srcs.empty()) return ok();
    bool into_dir = spec.dest.back() == '/' || srcs.size() > 1 ||
                    (srcs.size() == 1 && S_ISDIR(srcs[0].st.st_mode));
    if (!into_dir) {
        // One file to a path: into it if the image has a directory there.
        auto existing = open_in_root(rootfs_fd, spec.dest, O_RDONLY | O_DIRECTORY);
        if (existing) into_dir = true;
    }
    if (into_dir) {
        auto made = TRY(make_dest_dir(rootfs_fd, spec.dest, spec));
        UniqueFd dst = TRY(open_in_root(made.get(), ".", O_RDONLY | O_DIRECTORY));
        for (auto& s : srcs) {
            UniqueFd rd = TRY(open_in_root(source_fd, s.rel, O_RDONLY, 0, source_flags(spec)));
            if (S_ISDIR(s.st.st_mode)) {
                TRY(copy_dir_contents(rd.get(), dst.get(), spec, s.text, s.rel));
            } else if (S_ISREG(s.st.st_mode)) {
                std::string base = s.rel.substr(s.rel.rfind('/') + 1);
                TRY(copy_file(rd.get(), s.st, dst.get(), base, spec, s.text));
            } else {
                return error("source '" + s.text + "': not a regular file or directory");
            }
        }
        return ok();
    }
    auto& s = srcs[0];
    if (!S_ISREG(s.st.st_mode))
        return error("source '" + s.text + "': not a regular file or directory");
    std::string parent = spec.dest.substr(0, spec.dest.rfind('/'));
    if (!parent.empty()) TRY(make_dest_dir(rootfs_fd, parent, spec));
    auto pn = TRY(open_parent_in_root(rootfs_fd, spec.dest, kInRootMkdirParents));
    UniqueFd dir = TRY(open_in_root(pn.dir.get(), ".", O_RDONLY | O_DIRECTORY));
    UniqueFd rd = TRY(open_in_root(source_fd, s.rel, O_RDONLY, 0, source_flags(spec)));
    return copy_file(rd.get(), s.st, dir.get(), pn.name, spec, s.text);
}

}  // namespace berth::image::build
