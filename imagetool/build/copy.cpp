// COPY: files are streamed with copy_file_range, then owner, mode (after chown, which clears
// set-id bits) and mtime (Docker keeps the source's) are set on the open fd.
#include "imagetool/build/copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/in_root.hpp"

namespace berth::image::build {
namespace {

Status set_meta(int fd, const struct stat& st, const CopySpec& spec, const std::string& what) {
    if (fchown(fd, spec.uid, spec.gid) < 0) return sys_error("chown " + what);
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

Status copy_entry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                  const CopySpec& spec, const std::string& what);

Status copy_dir_contents(int src_fd, int dst_fd, const CopySpec& spec, const std::string& what) {
    int dup_fd = fcntl(src_fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return sys_error("dup " + what);
    DIR* d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return sys_error("read directory " + what);
    }
    Status st = ok();
    errno = 0;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        st = copy_entry(src_fd, n, dst_fd, n, spec, what + "/" + n);
        if (!st) break;
    }
    closedir(d);
    return st;
}

Status copy_entry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                  const CopySpec& spec, const std::string& what) {
    struct stat st;
    if (fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error("stat " + what);
    if (S_ISDIR(st.st_mode)) {
        UniqueFd s(openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) return sys_error("open " + what);
        if (mkdirat(dst_dir, dst_name.c_str(), 0700) < 0 && errno != EEXIST)
            return sys_error("mkdir " + what);
        UniqueFd d(
            openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return sys_error("open destination of " + what);
        TRY(copy_dir_contents(s.get(), d.get(), spec, what));
        return set_meta(d.get(), st, spec, what);
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(src_dir, name.c_str(), target, sizeof target - 1);
        if (n < 0) return sys_error("readlink " + what);
        target[n] = 0;
        unlinkat(dst_dir, dst_name.c_str(), 0);
        if (symlinkat(target, dst_dir, dst_name.c_str()) < 0) return sys_error("symlink " + what);
        if (fchownat(dst_dir, dst_name.c_str(), spec.uid, spec.gid, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("chown " + what);
        return ok();
    }
    if (!S_ISREG(st.st_mode)) return error(what + ": not a regular file, directory or symlink");
    UniqueFd s(openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return sys_error("open " + what);
    return copy_file(s.get(), st, dst_dir, dst_name, spec, what);
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

Status copy_into(int context_fd, int rootfs_fd, const CopySpec& spec) {
    struct Src {
        std::string text, rel;
        UniqueFd fd;
        struct stat st;
    };
    std::vector<Src> srcs;
    for (const auto& s : spec.sources) {
        std::string rel = TRY(context_relative(s));
        // Beneath, not in-root: a symlink out of the context is the author's mistake, and
        // clamping it would copy some other file of the context without a word.
        auto fd = open_in_root(context_fd, rel, O_PATH, 0, kInRootBeneath);
        if (!fd) {
            if (fd.error().code() == EXDEV)
                return error("source '" + s + "' is outside the build context");
            return std::move(fd).error().with_context("source '" + s + "'");
        }
        Src x{s, rel, std::move(*fd), {}};
        if (fstat(x.fd.get(), &x.st) < 0) return sys_error("stat source '" + s + "'");
        srcs.push_back(std::move(x));
    }
    bool into_dir = spec.dest.back() == '/' || srcs.size() > 1 ||
                    (srcs.size() == 1 && S_ISDIR(srcs[0].st.st_mode));
    if (!into_dir) {
        // One file to a path: into it if the image has a directory there.
        auto existing = open_in_root(rootfs_fd, spec.dest, O_RDONLY | O_DIRECTORY);
        if (existing) into_dir = true;
    }
    if (into_dir) {
        auto made = TRY(mkdir_all_in_root(rootfs_fd, spec.dest));
        UniqueFd dst = TRY(open_in_root(made.get(), ".", O_RDONLY | O_DIRECTORY));
        for (auto& s : srcs) {
            UniqueFd rd = TRY(open_in_root(context_fd, s.rel, O_RDONLY, 0, kInRootBeneath));
            if (S_ISDIR(s.st.st_mode)) {
                TRY(copy_dir_contents(rd.get(), dst.get(), spec, s.text));
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
    auto pn = TRY(open_parent_in_root(rootfs_fd, spec.dest, kInRootMkdirParents));
    UniqueFd dir = TRY(open_in_root(pn.dir.get(), ".", O_RDONLY | O_DIRECTORY));
    UniqueFd rd = TRY(open_in_root(context_fd, s.rel, O_RDONLY, 0, kInRootBeneath));
    return copy_file(rd.get(), s.st, dir.get(), pn.name, spec, s.text);
}

}  // namespace berth::image::build
