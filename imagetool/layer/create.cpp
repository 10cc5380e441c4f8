// Tree -> tar with libarchive's writer. The walk holds a directory fd and opens every entry
// with O_NOFOLLOW relative to it, so a symlink in the source tree is archived as a symlink and
// never leads the walk elsewhere.
#include "imagetool/layer/create.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <vector>

#include "base/unique_fd.hpp"
#include "imagetool/layer/unpriv.hpp"

namespace berth::image::layer {

struct TarWriter::Impl {
    ::archive* a = nullptr;
    const TarSink* sink = nullptr;
    Error err;
    bool failed = false;
    std::map<std::pair<dev_t, ino_t>, std::string> links;
    std::vector<char> buf = std::vector<char>(1u << 20);
    TreeOwners owners;

    void map_owner(archive_entry* e, const struct stat& st) const {
        if (!owners.rootless) return;
        if (st.st_uid == owners.uid) archive_entry_set_uid(e, 0);
        if (st.st_gid == owners.gid) archive_entry_set_gid(e, 0);
    }

    static la_ssize_t write_cb(::archive*, void* self, const void* data, size_t len) {
        auto* w = static_cast<Impl*>(self);
        auto st = (*w->sink)(data, len);
        if (!st) {
            w->err = std::move(st).error();
            w->failed = true;
            return -1;
        }
        return la_ssize_t(len);
    }
    Error fail(const std::string& what) {
        if (failed) return err.with_context(what);
        const char* s = archive_error_string(a);
        return error(what + ": " + (s ? s : "tar write failed"));
    }

    Status xattrs(archive_entry* e, int fd) {
        std::string names(4096, '\0');
        ssize_t n = flistxattr(fd, names.data(), names.size());
        if (n < 0 && errno == ERANGE) {
            n = flistxattr(fd, nullptr, 0);
            if (n > 0) {
                names.resize(size_t(n));
                n = flistxattr(fd, names.data(), names.size());
            }
        }
        if (n <= 0) return ok();
        for (size_t i = 0; i < size_t(n);) {
            std::string name(names.data() + i);
            i += name.size() + 1;
            // Overlayfs bookkeeping and SELinux labels of the build host are not image content.
            if (name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") ||
                name == "security.selinux")
                continue;
            ssize_t vn = fgetxattr(fd, name.c_str(), nullptr, 0);
            if (vn < 0) continue;
            std::string v(size_t(vn), '\0');
            vn = fgetxattr(fd, name.c_str(), v.data(), v.size());
            if (vn < 0) continue;
            if (owners.rootless && name == kRootlessXattr) {
                v.resize(size_t(vn));
                if (auto o = parse_rootless_xattr(v)) {
                    if (o->first != kRootlessNoop) archive_entry_set_uid(e, o->first);
                    if (o->second != kRootlessNoop) archive_entry_set_gid(e, o->second);
                }
                continue;
            }
            archive_entry_xattr_add_entry(e, name.c_str(), v.data(), size_t(vn));
        }
        return ok();
    }

    Status entry(int dirfd, const std::string& name, const std::string& path, bool recurse = true) {
        struct stat st;
        if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("stat '" + path + "'");
        // A tree that changes under the walk (a running container's rootfs): the entry is
        // opened without following links and without blocking (a FIFO swapped in), and its
        // own fd's stat is what gets archived.
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
            UniqueFd fd(openat(dirfd, name.c_str(),
                               O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                                   (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
            if (!fd) return sys_error("open '" + path + "'");
            struct stat now;
            if (fstat(fd.get(), &now) < 0) return sys_error("stat '" + path + "'");
            if ((now.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
                return error("'" + path + "' changed type while being archived");
            return file_entry(std::move(fd), now, path, recurse);
        }
        return file_entry(UniqueFd(), st, path, recurse, dirfd, name);
    }

    Status file_entry(UniqueFd fd, const struct stat& st, const std::string& path, bool recurse,
                      int dirfd = -1, const std::string& name = {}) {
        if (S_ISSOCK(st.st_mode)) return ok();  // sockets are not layer content
        archive_entry* e = archive_entry_new();
        archive_entry_copy_stat(e, &st);
        map_owner(e, st);
        archive_entry_set_pathname(e, path.c_str());
        archive_entry_set_uname(e, "");
        archive_entry_set_gname(e, "");
        std::string target;
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = links.find(key);
            if (it != links.end()) {
                archive_entry_set_hardlink(e, it->second.c_str());
                archive_entry_set_size(e, 0);
                Status s = header(e, path);
                archive_entry_free(e);
                return s;
            }
            links.emplace(key, path);
        }
        if (S_ISLNK(st.st_mode)) {
            target.resize(size_t(st.st_size) + 1);
            ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
            if (n < 0) {
                archive_entry_free(e);
                return sys_error("readlink '" + path + "'");
            }
            target.resize(size_t(n));
            archive_entry_set_symlink(e, target.c_str());
        } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
            Status xs = xattrs(e, fd.get());
            if (!xs) {
                archive_entry_free(e);
                return xs;
            }
        }
        if (!S_ISREG(st.st_mode)) archive_entry_set_size(e, 0);
        Status s = header(e, path);
        archive_entry_free(e);
        TRY(s);
        if (S_ISREG(st.st_mode)) {
            int64_t left = st.st_size;
            while (left > 0) {
                ssize_t n = read(fd.get(), buf.data(),
                                 size_t(std::min<int64_t>(left, int64_t(buf.size()))));
                if (n < 0) {
                    if (errno == EINTR) continue;
                    return sys_error("read '" + path + "'");
                }
                if (n == 0) return error("'" + path + "' shrank while being archived");
                if (archive_write_data(a, buf.data(), size_t(n)) < 0)
                    return fail("write '" + path + "'");
                left -= n;
            }
        }
        if (S_ISDIR(st.st_mode) && recurse) return walk(fd.get(), path);
        return ok();
    }

    Status header(archive_entry* e, const std::string& path) {
        if (archive_write_header(a, e) < ARCHIVE_WARN) return fail("write '" + path + "'");
        return ok();
    }

    Status walk(int dirfd, const std::string& path) {
        int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) return sys_error("open '" + path + "'");
        DIR* dir = fdopendir(d);
        if (!dir) {
            ::close(d);
            return sys_error("opendir '" + path + "'");
        }
        std::vector<std::string> names;
        while (struct dirent* de = readdir(dir)) {
            std::string n = de->d_name;
            if (n != "." && n != "..") names.push_back(std::move(n));
        }
        closedir(dir);
        std::sort(names.begin(), names.end());
        for (const auto& n : names)
            TRY(entry(dirfd, n, path + "/" + n));
        return ok();
    }
};

TarWriter::TarWriter(const TarSink& sink) : impl_(std::make_unique<Impl>()) {
    impl_->sink = &sink;
}

TarWriter::~TarWriter() {
    if (impl_->a) archive_write_free(impl_->a);
}

void TarWriter::set_owners(const TreeOwners& owners) {
    impl_->owners = owners;
}

Status TarWriter::open() {
    impl_->a = archive_write_new();
    archive_write_set_format_pax_restricted(impl_->a);
    archive_write_set_bytes_per_block(impl_->a, 10240);
    if (archive_write_open(impl_->a, impl_.get(), nullptr, Impl::write_cb, nullptr) != ARCHIVE_OK)
        return impl_->fail("open tar writer");
    return ok();
}

Status TarWriter::add(int dirfd, const std::string& name, const std::string& path, bool recurse) {
    return impl_->entry(dirfd, name, path, recurse);
}

Status TarWriter::add_children(int dirfd, const std::string& path) {
    return impl_->walk(dirfd, path);
}

Status TarWriter::add_root(int fd) {
    // "./" carries the root's own mode, owner and times.
    struct stat st;
    if (fstat(fd, &st) < 0) return sys_error("stat the root directory");
    archive_entry* e = archive_entry_new();
    archive_entry_copy_stat(e, &st);
    impl_->map_owner(e, st);
    archive_entry_set_pathname(e, "./");
    archive_entry_set_size(e, 0);
    Status s = impl_->header(e, "./");
    archive_entry_free(e);
    return s;
}

Status TarWriter::add_marker(const std::string& path, const struct stat& st, mode_t mode) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_stat(e, &st);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, mode & 07777);
    archive_entry_set_nlink(e, 1);
    archive_entry_set_rdev(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_uname(e, "");
    archive_entry_set_gname(e, "");
    Status s = impl_->header(e, path);
    archive_entry_free(e);
    return s;
}

Status TarWriter::close() {
    if (archive_write_close(impl_->a) != ARCHIVE_OK) return impl_->fail("finish tar");
    return ok();
}

Status write_tree_tar(const std::string& dir, const TarSink& sink, const TreeOwners& owners) {
    TarWriter w(sink);
    w.set_owners(owners);
    TRY(w.open());
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open '" + dir + "'");
    TRY(w.add_root(root.get()));
    TRY_CTX(w.add_children(root.get(), "."), "archive '" + dir + "'");
    return w.close();
}

}  // namespace berth::image::layer
