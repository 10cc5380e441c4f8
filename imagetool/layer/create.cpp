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
namespace {

struct Writer {
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
        auto* w = static_cast<Writer*>(self);
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
            if (name.rfind("trusted.overlay.", 0) == 0 || name == "security.selinux") continue;
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

    Status entry(int dirfd, const std::string& name, const std::string& path) {
        struct stat st;
        if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("stat '" + path + "'");
        if (S_ISSOCK(st.st_mode)) return ok();  // sockets are not layer content
        archive_entry* e = archive_entry_new();
        archive_entry_copy_stat(e, &st);
        map_owner(e, st);
        archive_entry_set_pathname(e, path.c_str());
        archive_entry_set_uname(e, "");
        archive_entry_set_gname(e, "");
        UniqueFd fd;
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
            fd.reset(openat(
                dirfd, name.c_str(),
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
            if (!fd) {
                archive_entry_free(e);
                return sys_error("open '" + path + "'");
            }
            TRY(xattrs(e, fd.get()));
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
        if (S_ISDIR(st.st_mode)) return walk(fd.get(), path);
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
            close(d);
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

}  // namespace

Status write_tree_tar(const std::string& dir, const TarSink& sink, const TreeOwners& owners) {
    Writer w;
    w.sink = &sink;
    w.owners = owners;
    w.a = archive_write_new();
    archive_write_set_format_pax_restricted(w.a);
    archive_write_set_bytes_per_block(w.a, 10240);
    struct Free {
        ::archive* a;
        ~Free() { archive_write_free(a); }
    } guard{w.a};
    if (archive_write_open(w.a, &w, nullptr, Writer::write_cb, nullptr) != ARCHIVE_OK)
        return w.fail("open tar writer");
    UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open '" + dir + "'");
    // "./" carries the root's own mode and owner.
    struct stat st;
    if (fstat(root.get(), &st) < 0) return sys_error("stat '" + dir + "'");
    archive_entry* e = archive_entry_new();
    archive_entry_copy_stat(e, &st);
    w.map_owner(e, st);
    archive_entry_set_pathname(e, "./");
    archive_entry_set_size(e, 0);
    Status s = w.header(e, "./");
    archive_entry_free(e);
    TRY(s);
    TRY_CTX(w.walk(root.get(), "."), "archive '" + dir + "'");
    if (archive_write_close(w.a) != ARCHIVE_OK) return w.fail("finish tar");
    return ok();
}

}  // namespace berth::image::layer
