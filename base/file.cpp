// File helpers.
#include "base/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace berth {

Result<std::string> read_fd(int fd, size_t max_size) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("read");
        }
        if (n == 0) break;
        if (out.size() + size_t(n) > max_size) return Error::sys(EFBIG, "read");
        out.append(buf, size_t(n));
    }
    return out;
}

Result<std::string> read_file(const std::string& path, size_t max_size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + path + "'");
    auto r = read_fd(fd.get(), max_size);
    if (!r) return std::move(r).error().with_context("'" + path + "'");
    return r;
}

Status write_all(int fd, std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("write");
        }
        off += size_t(n);
    }
    return ok();
}

namespace {
Status write_via_temp(const std::string& path, std::string_view data, mode_t mode, bool sync) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string tmp =
        path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(rng() % 1000000);
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) return sys_error("create '" + tmp + "'");
    auto st = write_all(fd.get(), data);
    if (st && sync && ::fsync(fd.get()) < 0) st = sys_error("fsync");
    fd.reset();
    if (st && ::rename(tmp.c_str(), path.c_str()) < 0) st = sys_error("rename");
    if (!st) {
        ::unlink(tmp.c_str());
        return std::move(st).error().with_context("write '" + path + "'");
    }
    return ok();
}
}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    return write_via_temp(path, data, mode, true);
}

Status write_file_replace(const std::string& path, std::string_view data, mode_t mode) {
    return write_via_temp(path, data, mode, false);
}

Status write_file(const std::string& path, std::string_view data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + path + "'");
    ssize_t n;
    do {
        n = ::write(fd.get(), data.data(), data.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("write '" + path + "'");
    return ok();
}

Status write_file_at(int dirfd, const std::string& name, std::string_view data) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return sys_error("open '" + name + "'");
    ssize_t n;
    do {
        n = ::write(fd.get(), data.data(), data.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("write '" + name + "'");
    return ok();
}

Status mkdir_p(const std::string& path, mode_t mode) {
    if (path.empty()) return ok();
    std::string cur;
    size_t i = 0;
    if (path[0] == '/') cur = "/", i = 1;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) {
            if (!cur.empty() && cur.back() != '/') cur += '/';
            cur += path.substr(i, j - i);
            if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
                return sys_error("mkdir '" + cur + "'");
        }
        i = j + 1;
    }
    return ok();
}

void allow_owner_rwx(int dirfd, const char* name) {
    // O_PATH and the magic link: the directory may not be readable, and fchmodat cannot be
    // told not to follow a symlink.
    UniqueFd fd(::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISDIR(st.st_mode)) return;
    // Root needs no opening up (and a chmod on an overlay would copy the directory up).
    if ((st.st_mode & 0700) == 0700 || ::geteuid() == 0 || st.st_uid != ::geteuid()) return;
    std::string p = "/proc/self/fd/" + std::to_string(fd.get());
    (void)::chmod(p.c_str(), (st.st_mode & 07777) | 0700);
}

namespace {
Status remove_at(int dirfd, const char* name) {
    if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return ok();
    if (errno != EISDIR && errno != EPERM) return sys_error(std::string("unlink '") + name + "'");
    allow_owner_rwx(dirfd, name);
    UniqueFd d(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return sys_error(std::string("open '") + name + "'");
    DIR* dir = ::fdopendir(::dup(d.get()));
    if (!dir) return sys_error("opendir");
    Status st;
    while (struct dirent* e = ::readdir(dir)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        st = remove_at(d.get(), e->d_name);
        if (!st) break;
    }
    ::closedir(dir);
    if (!st) return st;
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return sys_error(std::string("rmdir '") + name + "'");
    return ok();
}
}  // namespace

Status remove_all(const std::string& path) {
    return remove_at(AT_FDCWD, path.c_str());
}

bool path_exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    DIR* d = ::opendir(path.c_str());
    if (!d) return out;
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
    return out;
}

}  // namespace berth
