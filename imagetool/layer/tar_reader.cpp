// libarchive adapter. libarchive never sees the compressed bytes: berth decompresses (faster
// gzip, its own caps) and hands it the plain tar, so every byte it parses is also hashed.
#include "imagetool/layer/tar_reader.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>

#include "imagetool/layer/sha256.hpp"

namespace berth::image::layer {
namespace {
constexpr size_t kBuf = 1u << 20;
}

ssize_t TarReader::read_cb(::archive* a, void* self, const void** buf) {
    auto* r = static_cast<TarReader*>(self);
    auto n = r->src_->read(r->buf_.data(), r->buf_.size());
    if (!n) {
        r->stream_error_ = std::move(n).error();
        r->stream_failed_ = true;
        archive_set_error(a, r->stream_error_.code() ? r->stream_error_.code() : EIO, "%s",
                          r->stream_error_.message().c_str());
        return -1;
    }
    if (*n == 0) r->src_eof_ = true;
    r->hash_->update(r->buf_.data(), *n);
    *buf = r->buf_.data();
    return ssize_t(*n);
}

Result<std::unique_ptr<TarReader>> TarReader::open(Stream* src, const Limits& limits) {
    std::unique_ptr<TarReader> r(new TarReader());
    r->src_ = src;
    r->limits_ = limits;
    r->buf_.resize(kBuf);
    r->hash_ = std::make_unique<Sha256>();
    r->a_ = archive_read_new();
    if (!r->a_) return Error::sys(ENOMEM, "archive_read_new");
    archive_read_support_format_tar(r->a_);
    if (archive_read_open(r->a_, r.get(), nullptr, read_cb, nullptr) != ARCHIVE_OK)
        return r->archive_failure("open layer tar");
    return r;
}

TarReader::~TarReader() {
    if (a_) archive_read_free(a_);
}

Error TarReader::archive_failure(const std::string& what) {
    if (stream_failed_) return stream_error_.with_context(what);
    const char* s = archive_error_string(a_);
    int code = archive_errno(a_);
    return Error(code > 0 && code != EINVAL ? code : 0, what + ": " + (s ? s : "malformed tar"));
}

Result<bool> TarReader::next(Entry& out) {
    if (cur_pending_ && !ended_)
        TRY(read_data([](int64_t, const void*, size_t) -> Status { return ok(); }));
    if (ended_) return false;
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a_, &e);
    if (rc == ARCHIVE_EOF) return false;
    std::string where = last_name_.empty() ? std::string("read layer: first entry")
                                           : "read layer: entry after '" + last_name_ + "'";
    if (rc < ARCHIVE_WARN) return archive_failure(where);
    if (++entries_ > limits_.max_entries)
        return error(where + ": more than " + std::to_string(limits_.max_entries) +
                     " entries (tar bomb?)");

    const char* name = archive_entry_pathname(e);
    if (!name) name = archive_entry_pathname_utf8(e);
    if (!name) return error(where + ": entry name cannot be read");
    out = Entry{};
    out.name = name;
    last_name_ = out.name.size() > 200 ? out.name.substr(0, 200) + "..." : out.name;
    std::string ctx = "layer entry '" + last_name_ + "'";
    if (out.name.size() > limits_.max_path)
        return error(ctx + ": path is " + std::to_string(out.name.size()) +
                     " bytes, more than the limit of " + std::to_string(limits_.max_path));
    size_t meta = out.name.size();

    const char* hl = archive_entry_hardlink(e);
    const char* sl = archive_entry_symlink(e);
    if (hl) {
        out.type = EntryType::hardlink;
        out.link = hl;
    } else {
        switch (archive_entry_filetype(e)) {
            case AE_IFREG:
                out.type = EntryType::file;
                break;
            case AE_IFDIR:
                out.type = EntryType::dir;
                break;
            case AE_IFLNK:
                out.type = EntryType::symlink;
                out.link = sl ? sl : "";
                break;
            case AE_IFCHR:
                out.type = EntryType::chr;
                break;
            case AE_IFBLK:
                out.type = EntryType::blk;
                break;
            case AE_IFIFO:
                out.type = EntryType::fifo;
                break;
            case AE_IFSOCK:
                out.type = EntryType::socket;
                break;
            default:
                return error(ctx + ": unknown entry type");
        }
    }
    if (out.link.size() > limits_.max_path)
        return error(ctx + ": link target is " + std::to_string(out.link.size()) +
                     " bytes, more than the limit of " + std::to_string(limits_.max_path));
    meta += out.link.size();
    out.perm = archive_entry_perm(e) & 07777;
    out.uid = uid_t(archive_entry_uid(e));
    out.gid = gid_t(archive_entry_gid(e));
    if (archive_entry_uid(e) < 0 || archive_entry_uid(e) > 0xfffffffe || archive_entry_gid(e) < 0 ||
        archive_entry_gid(e) > 0xfffffffe)
        return error(ctx + ": owner out of range");
    out.dev_major = unsigned(archive_entry_rdevmajor(e));
    out.dev_minor = unsigned(archive_entry_rdevminor(e));
    out.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (out.size < 0) return error(ctx + ": negative size");
    cur_size_ = out.size;
    cur_end_ = 0;
    cur_pending_ = true;
    if (out.type == EntryType::file) {
        declared_ += uint64_t(out.size);
        if (declared_ > limits_.max_expanded)
            return Error::sys(EFBIG, ctx + ": files expand past the limit of " +
                                         std::to_string(limits_.max_expanded) + " bytes");
    }
    out.mtime.tv_sec = archive_entry_mtime(e);
    out.mtime.tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        out.has_atime = true;
        out.atime.tv_sec = archive_entry_atime(e);
        out.atime.tv_nsec = archive_entry_atime_nsec(e);
    }
    if (const char* u = archive_entry_uname(e)) meta += std::strlen(u);
    if (const char* g = archive_entry_gname(e)) meta += std::strlen(g);
    archive_entry_xattr_reset(e);
    const char* xn;
    const void* xv;
    size_t xs;
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
        meta += std::strlen(xn) + xs;
        if (meta > limits_.max_pax_header) break;
        out.xattrs.push_back({xn, std::string(static_cast<const char*>(xv), xs)});
    }
    if (meta > limits_.max_pax_header)
        return error(ctx + ": extended header (names, link, xattrs) is larger than the limit of " +
                     std::to_string(limits_.max_pax_header) + " bytes");
    return true;
}

Status TarReader::read_data(const std::function<Status(int64_t, const void*, size_t)>& sink) {
    for (;;) {
        const void* buf;
        size_t len;
        la_int64_t off;
        int rc = archive_read_data_block(a_, &buf, &len, &off);
        if (rc == ARCHIVE_EOF) {
            cur_pending_ = false;
            return ok();
        }
        if (rc < ARCHIVE_WARN) {
            // All of the entry's data arrived and then the stream ended: only its padding
            // (and the end-of-archive blocks) are missing, which is a clean end (see next()).
            if (src_eof_ && !stream_failed_ && cur_end_ == cur_size_) {
                cur_pending_ = false;
                ended_ = true;
                return ok();
            }
            return archive_failure("read layer entry '" + last_name_ + "'");
        }
        if (len) {
            cur_end_ = std::max<int64_t>(cur_end_, int64_t(off) + int64_t(len));
            TRY(sink(off, buf, len));
        }
    }
}

Result<std::string> TarReader::finish() {
    for (;;) {
        auto n = src_->read(buf_.data(), buf_.size());
        if (!n) return std::move(n).error().with_context("read layer");
        if (*n == 0) break;
        hash_->update(buf_.data(), *n);
    }
    return hash_->digest();
}

}  // namespace berth::image::layer
