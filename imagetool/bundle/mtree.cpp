// Writing and reading the unpacked tree's manifest. The walk holds directory fds and stats
// names relative to them without following symlinks: the tree is the image's content.
#include "imagetool/bundle/mtree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "base/file.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/bundle/origin.hpp"

namespace berth::image::bundle {
namespace {

void append_line(std::string& out, const std::string& path, const struct stat& st) {
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        " %o %u %u %" PRId64 " %" PRId64 ".%09ld %" PRId64 ".%09ld %" PRIu64 " %" PRIu64 "\n",
        unsigned(st.st_mode), unsigned(st.st_uid), unsigned(st.st_gid), int64_t(st.st_size),
        int64_t(st.st_mtim.tv_sec), long(st.st_mtim.tv_nsec), int64_t(st.st_ctim.tv_sec),
        long(st.st_ctim.tv_nsec), uint64_t(st.st_ino), uint64_t(st.st_nlink));
    out += mtree_escape(path);
    out += buf;
}

Status scan_dir(int dirfd, const std::string& prefix, dev_t dev, std::string& out) {
    int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return sys_error("open '" + prefix + "'");
    DIR* dir = fdopendir(d);
    if (!dir) {
        close(d);
        return sys_error("opendir '" + prefix + "'");
    }
    std::vector<std::string> names;
    while (struct dirent* de = readdir(dir)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    closedir(dir);
    for (const auto& n : names) {
        std::string path = prefix == "." ? n : prefix + "/" + n;
        struct stat st;
        if (fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            return sys_error("stat '" + path + "'");
        if (st.st_dev != dev) continue;  // a mount point's content is not the image's
        append_line(out, path, st);
        if (!S_ISDIR(st.st_mode)) continue;
        UniqueFd sub(openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return sys_error("open '" + path + "'");
        TRY(scan_dir(sub.get(), path, dev, out));
    }
    return ok();
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool parse_time(std::string_view s, struct timespec& t) {
    long long sec = 0;
    long nsec = 0;
    if (std::sscanf(std::string(s).c_str(), "%lld.%ld", &sec, &nsec) != 2) return false;
    t.tv_sec = sec;
    t.tv_nsec = nsec;
    return true;
}

}  // namespace

MtreeEntry mtree_entry(const struct stat& st) {
    MtreeEntry e;
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.size = st.st_size;
    e.mtime = st.st_mtim;
    e.ctime = st.st_ctim;
    e.ino = st.st_ino;
    e.nlink = st.st_nlink;
    return e;
}

bool mtree_same(const MtreeEntry& a, const MtreeEntry& b) {
    // A directory's size is the filesystem's business (ext4 never shrinks it back).
    bool size_same = S_ISDIR(a.mode) || a.size == b.size;
    return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && size_same &&
           a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec &&
           a.ctime.tv_sec == b.ctime.tv_sec && a.ctime.tv_nsec == b.ctime.tv_nsec &&
           a.ino == b.ino && a.nlink == b.nlink;
}

std::string mtree_escape(std::string_view path) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(path.size());
    for (unsigned char c : path) {
        if (c <= 0x20 || c >= 0x7f || c == '%') {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += char(c);
        }
    }
    return out;
}

Result<std::string> scan_mtree(int rootfd) {
    struct stat st;
    if (fstat(rootfd, &st) < 0) return sys_error("stat the root");
    std::string out;
    append_line(out, ".", st);
    TRY(scan_dir(rootfd, ".", st.st_dev, out));
    return out;
}

Result<Mtree> parse_mtree(std::string_view text) {
    Mtree m;
    size_t line = 0;
    while (!text.empty()) {
        ++line;
        size_t nl = text.find('\n');
        std::string_view l = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (l.empty()) continue;
        std::vector<std::string_view> f;
        while (!l.empty()) {
            size_t sp = l.find(' ');
            f.push_back(l.substr(0, sp));
            l = sp == std::string_view::npos ? std::string_view() : l.substr(sp + 1);
        }
        auto bad = [&]() { return error("line " + std::to_string(line) + ": malformed entry"); };
        if (f.size() != 9) return bad();
        std::string path;
        for (size_t i = 0; i < f[0].size(); ++i) {
            if (f[0][i] == '%') {
                if (i + 2 >= f[0].size()) return bad();
                int h = hexval(f[0][i + 1]), lo = hexval(f[0][i + 2]);
                if (h < 0 || lo < 0) return bad();
                path += char(h * 16 + lo);
                i += 2;
            } else {
                path += f[0][i];
            }
        }
        MtreeEntry e;
        unsigned mode = 0, uid = 0, gid = 0;
        long long size = 0;
        unsigned long long ino = 0, nlink = 0;
        if (std::sscanf(std::string(f[1]).c_str(), "%o", &mode) != 1 ||
            std::sscanf(std::string(f[2]).c_str(), "%u", &uid) != 1 ||
            std::sscanf(std::string(f[3]).c_str(), "%u", &gid) != 1 ||
            std::sscanf(std::string(f[4]).c_str(), "%lld", &size) != 1 ||
            !parse_time(f[5], e.mtime) || !parse_time(f[6], e.ctime) ||
            std::sscanf(std::string(f[7]).c_str(), "%llu", &ino) != 1 ||
            std::sscanf(std::string(f[8]).c_str(), "%llu", &nlink) != 1)
            return bad();
        e.mode = mode;
        e.uid = uid;
        e.gid = gid;
        e.size = size;
        e.ino = ino;
        e.nlink = nlink;
        m.emplace(std::move(path), e);
    }
    return m;
}

std::string mtree_path(const std::string& bundle_dir) {
    return origin_dir(bundle_dir) + "/rootfs.mtree";
}

Status write_bundle_mtree(const std::string& bundle_dir) {
    UniqueFd root(
        open((bundle_dir + "/rootfs").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root) return sys_error("open '" + bundle_dir + "/rootfs'");
    std::string text = TRY_CTX(scan_mtree(root.get()), "record the unpacked tree");
    TRY(mkdir_p(origin_dir(bundle_dir), 0700));
    return write_file_atomic(mtree_path(bundle_dir), text, 0600);
}

Result<Mtree> read_bundle_mtree(const std::string& bundle_dir) {
    std::string path = mtree_path(bundle_dir);
    auto text = TRY_CTX(read_file(path, size_t(1) << 32), "read '" + path + "'");
    return TRY_CTX(parse_mtree(text), "'" + path + "'");
}

}  // namespace berth::image::bundle
