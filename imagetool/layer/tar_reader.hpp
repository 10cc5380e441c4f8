// Tar reading with libarchive (ustar, PAX, GNU long names, PAX xattrs in SCHILY.xattr and
// LIBARCHIVE.xattr form) over a decompressed Stream, hashing every byte for the DiffID and
// enforcing the per-entry caps against tar bombs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "imagetool/layer/decompress.hpp"

struct archive;

namespace berth::image::layer {

class Sha256;

// Caps against tar and decompression bombs. Defaults fit any real image; tests lower them.
struct Limits {
    uint64_t max_entries = 2'000'000;
    size_t max_path = 4096;  // PATH_MAX: the kernel refuses longer paths anyway
    // Pathname, link target, user/group names and xattrs of one entry together: what a PAX
    // extended header carries.
    size_t max_pax_header = 1u << 20;
    uint64_t max_expanded = 256ull << 30;  // uncompressed tar bytes, and file sizes summed
};

struct Xattr {
    std::string name;
    std::string value;
};

enum class EntryType { file, dir, symlink, hardlink, chr, blk, fifo, socket };

struct Entry {
    std::string name;  // verbatim from the archive
    EntryType type = EntryType::file;
    std::string link;  // symlink target or hardlink target, verbatim
    mode_t perm = 0;   // permission bits incl. setuid/setgid/sticky
    uid_t uid = 0;
    gid_t gid = 0;
    unsigned dev_major = 0, dev_minor = 0;
    int64_t size = 0;
    struct timespec mtime {};
    struct timespec atime {};
    bool has_atime = false;
    std::vector<Xattr> xattrs;
};

class TarReader {
  public:
    // Reads the tar in `src` (not owned; must outlive the reader).
    static Result<std::unique_ptr<TarReader>> open(Stream* src, const Limits& limits);
    ~TarReader();
    TarReader(const TarReader&) = delete;
    TarReader& operator=(const TarReader&) = delete;

    // The next entry's header; false at the end of the archive. The end is the two zero
    // blocks, or the end of the stream at an entry boundary: writers that never close their
    // tar writer (Debian's umoci 0.4.7 `insert`, Go's archive/tar without Close) stop right
    // after the last entry's data, without its padding to 512 bytes or the zero blocks, and
    // podman, containerd and Docker accept that. A stream cut inside a header or inside an
    // entry's data stays an error naming the entry.
    Result<bool> next(Entry& out);
    // Streams the current entry's data: sink(offset, bytes, len). Sparse files give offsets
    // with holes between them.
    Status read_data(const std::function<Status(int64_t, const void*, size_t)>& sink);
    // Reads to the end of the stream (the padding after the end-of-archive blocks counts in the
    // DiffID) and returns "sha256:<hex>" of the whole uncompressed stream.
    Result<std::string> finish();
    uint64_t entries() const { return entries_; }

  private:
    TarReader() = default;
    static ssize_t read_cb(::archive*, void* self, const void** buf);
    Error archive_failure(const std::string& what);

    ::archive* a_ = nullptr;
    Stream* src_ = nullptr;
    Limits limits_;
    std::vector<char> buf_;
    std::unique_ptr<Sha256> hash_;
    Error stream_error_;
    bool stream_failed_ = false;
    uint64_t entries_ = 0;
    uint64_t declared_ = 0;  // sum of entry sizes
    std::string last_name_;
    // The current entry: its size, how far its data was delivered, and whether it still has
    // to be read through (next() drains it so that a missing padding is seen as such).
    int64_t cur_size_ = 0;
    int64_t cur_end_ = 0;
    bool cur_pending_ = false;
    bool src_eof_ = false;  // the source said EOF
    bool ended_ = false;    // the stream ended cleanly after the last entry's data
};

}  // namespace berth::image::layer
