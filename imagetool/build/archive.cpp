// Archive detection reads one tar block (decompressing the first bytes when the magic says
// gzip or zstd) and checks the header checksum: the test Go's archive/tar (and so Docker's
// ADD) applies, and not a file name's extension.
#include "imagetool/build/archive.hpp"

#include <unistd.h>

#include <cstring>

#include "imagetool/layer/apply.hpp"
#include "imagetool/layer/decompress.hpp"

namespace berth::image::build {
namespace {

// A ustar/GNU/v7 header: the checksum field (octal, at 148) equals the sum of the block's
// bytes with that field read as spaces. An all-zero block (an empty archive) is no header.
bool tar_header(const unsigned char* b, size_t n) {
    if (n < 512) return false;
    unsigned sum = 0;
    bool nonzero = false;
    for (size_t i = 0; i < 512; ++i) {
        sum += (i >= 148 && i < 156) ? ' ' : b[i];
        nonzero = nonzero || b[i] != 0;
    }
    if (!nonzero) return false;
    unsigned want = 0;
    bool digits = false;
    for (size_t i = 148; i < 156; ++i) {
        if (b[i] == ' ' && !digits) continue;
        if (b[i] < '0' || b[i] > '7') break;
        want = want * 8 + unsigned(b[i] - '0');
        digits = true;
    }
    return digits && want == sum;
}

Result<size_t> read_full(layer::Stream& s, unsigned char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t r = TRY(s.read(buf + got, n - got));
        if (r == 0) break;
        got += r;
    }
    return got;
}

}  // namespace

const char* archive_kind_name(ArchiveKind k) {
    switch (k) {
        case ArchiveKind::tar:
            return "tar";
        case ArchiveKind::gzip:
            return "gzip";
        case ArchiveKind::zstd:
            return "zstd";
        case ArchiveKind::xz:
            return "xz";
        case ArchiveKind::bzip2:
            return "bzip2";
        default:
            return "none";
    }
}

Result<ArchiveKind> archive_kind(int fd) {
    unsigned char head[512];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0) return sys_error("read");
    static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
    if (n >= 6 && std::memcmp(head, xz, 6) == 0) return ArchiveKind::xz;
    if (n >= 3 && std::memcmp(head, "BZh", 3) == 0) return ArchiveKind::bzip2;
    auto c = layer::sniff_compression(head, size_t(n));
    if (c == layer::Compression::none)
        return tar_header(head, size_t(n)) ? ArchiveKind::tar : ArchiveKind::none;
    if (lseek(fd, 0, SEEK_SET) < 0) return sys_error("seek");
    auto s = layer::decompress(layer::fd_stream(fd), c, 1u << 20);
    if (!s) return ArchiveKind::none;
    unsigned char block[512];
    auto got = read_full(**s, block, sizeof block);
    // A stream that does not decompress is a file that happens to start with the magic.
    if (!got || !tar_header(block, *got)) return ArchiveKind::none;
    return c == layer::Compression::gzip ? ArchiveKind::gzip : ArchiveKind::zstd;
}

Status unpack_archive(int fd, ArchiveKind kind, int dest_fd) {
    if (kind != ArchiveKind::tar && kind != ArchiveKind::gzip && kind != ArchiveKind::zstd)
        return error(std::string(archive_kind_name(kind)) +
                     " archives are not supported (tar, gzip and zstd are)");
    if (lseek(fd, 0, SEEK_SET) < 0) return sys_error("seek");
    auto c = kind == ArchiveKind::gzip   ? layer::Compression::gzip
             : kind == ArchiveKind::zstd ? layer::Compression::zstd
                                         : layer::Compression::none;
    auto opts = layer::default_apply_options();
    auto s = TRY(layer::decompress(layer::fd_stream(fd), c, opts.limits.max_expanded));
    TRY(layer::apply_tar(dest_fd, *s, opts));
    return ok();
}

}  // namespace berth::image::build
