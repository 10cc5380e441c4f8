// Verifying blob reader and committing blob writer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image {

BlobReader::BlobReader(UniqueFd fd, spec::Descriptor desc)
    : fd_(std::move(fd)), desc_(std::move(desc)), hasher_(desc_.digest.algorithm) {}

Result<size_t> BlobReader::read(void* buf, size_t n) {
    if (verified_) return size_t(0);
    std::string what = "blob " + desc_.digest.str();
    ssize_t got;
    do {
        got = ::read(fd_.get(), buf, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return sys_error("read " + what);
    if (got == 0) {
        if (seen_ != desc_.size)
            return error(what + ": size " + std::to_string(seen_) + " does not match the " +
                         std::to_string(desc_.size) + " bytes the descriptor declares");
        spec::Digest d = hasher_.finish();
        if (d != desc_.digest) return error(what + ": content has digest " + d.str());
        verified_ = true;
        return size_t(0);
    }
    seen_ += got;
    if (seen_ > desc_.size)
        return error(what + ": longer than the " + std::to_string(desc_.size) +
                     " bytes the descriptor declares");
    hasher_.update(buf, size_t(got));
    return size_t(got);
}

Status BlobReader::verify_all() {
    char buf[65536];
    for (;;) {
        size_t n = TRY(read(buf, sizeof buf));
        if (n == 0) return ok();
    }
}

BlobWriter::BlobWriter(std::string store_dir, std::string tmp_path, UniqueFd fd,
                       std::optional<spec::Descriptor> expected)
    : dir_(std::move(store_dir)),
      tmp_(std::move(tmp_path)),
      fd_(std::move(fd)),
      expected_(std::move(expected)),
      hasher_(expected_ ? expected_->digest.algorithm : "sha256") {}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : dir_(std::move(o.dir_)),
      tmp_(std::move(o.tmp_)),
      fd_(std::move(o.fd_)),
      expected_(std::move(o.expected_)),
      hasher_(std::move(o.hasher_)),
      size_(o.size_),
      done_(o.done_) {
    o.done_ = true;
}

BlobWriter& BlobWriter::operator=(BlobWriter&& o) noexcept {
    if (this != &o) {
        if (!done_ && !tmp_.empty()) ::unlink(tmp_.c_str());
        dir_ = std::move(o.dir_);
        tmp_ = std::move(o.tmp_);
        fd_ = std::move(o.fd_);
        expected_ = std::move(o.expected_);
        hasher_ = std::move(o.hasher_);
        size_ = o.size_;
        done_ = o.done_;
        o.done_ = true;
    }
    return *this;
}

BlobWriter::~BlobWriter() {
    if (!done_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

Status BlobWriter::write(const void* data, size_t n) {
    if (done_) return error("write to a committed blob");
    if (expected_ && size_ + int64_t(n) > expected_->size)
        return error("blob " + expected_->digest.str() + ": more than the " +
                     std::to_string(expected_->size) + " bytes expected");
    TRY(write_all(fd_.get(), std::string_view(static_cast<const char*>(data), n)));
    hasher_.update(data, n);
    size_ += int64_t(n);
    return ok();
}

Result<spec::Descriptor> BlobWriter::commit(const std::string& media_type) {
    if (done_) return error("blob already committed");
    spec::Digest d = hasher_.finish();
    done_ = true;
    auto fail = [&](Error e) {
        ::unlink(tmp_.c_str());
        return e;
    };
    if (expected_) {
        if (size_ != expected_->size)
            return fail(error("blob " + expected_->digest.str() + ": got " + std::to_string(size_) +
                              " bytes, expected " + std::to_string(expected_->size)));
        if (d != expected_->digest)
            return fail(
                error("blob " + expected_->digest.str() + ": content has digest " + d.str()));
    }
    if (::fsync(fd_.get()) < 0) return fail(sys_error("fsync '" + tmp_ + "'"));
    fd_.reset();
    std::string dst = dir_ + "/blobs/" + d.algorithm + "/" + d.hex;
    (void)::mkdir((dir_ + "/blobs/" + d.algorithm).c_str(), 0755);
    if (::rename(tmp_.c_str(), dst.c_str()) < 0) return fail(sys_error("rename to '" + dst + "'"));
    spec::Descriptor out;
    out.media_type = media_type;
    out.digest = d;
    out.size = size_;
    return out;
}

}  // namespace berth::image
