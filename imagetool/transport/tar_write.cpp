// Tar writing for the archive transports.
#include "imagetool/transport/tar_write.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace berth::image::transport {

std::string clean_name(std::string n) {
    while (n.starts_with("./"))
        n.erase(0, 2);
    while (!n.empty() && n.front() == '/')
        n.erase(0, 1);
    return n;
}

Result<std::unique_ptr<TarFile>> TarFile::create(const std::string& target) {
    std::unique_ptr<TarFile> t(new TarFile());
    t->target_ = target;
    size_t slash = target.rfind('/');
    std::string dir = slash == std::string::npos ? "." : target.substr(0, slash);
    if (dir.empty()) dir = "/";
    t->tmp_ = dir + "/.berth-archive-XXXXXX";
    int fd = ::mkostemp(t->tmp_.data(), O_CLOEXEC);
    if (fd < 0) {
        t->tmp_.clear();
        return sys_error("create temporary file in '" + dir + "'");
    }
    t->fd_ = UniqueFd(fd);
    ::fchmod(fd, 0644);
    t->a_ = archive_write_new();
    if (!t->a_) return Error::sys(ENOMEM, "archive_write_new");
    // PAX only where ustar cannot say it (long names, sizes over 8 GiB): what skopeo and
    // docker write, and what every reader takes.
    archive_write_set_format_pax_restricted(t->a_);
    archive_write_set_bytes_per_block(t->a_, 10240);
    if (archive_write_open_fd(t->a_, fd) != ARCHIVE_OK) return t->failure("open tar");
    return t;
}

TarFile::~TarFile() {
    if (a_) archive_write_free(a_);
    if (!done_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

Error TarFile::failure(const std::string& what) {
    const char* msg = a_ ? archive_error_string(a_) : nullptr;
    int err = a_ ? archive_errno(a_) : 0;
    return Error(err > 0 ? err : 0, what + ": " + (msg ? msg : "archive error"));
}

Status TarFile::header(const std::string& path, bool dir, int64_t size) {
    archive_entry* e = archive_entry_new();
    if (!e) return Error::sys(ENOMEM, "archive_entry_new");
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : size);
    // Fixed times and owners: the same image gives the same archive bytes.
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN) return failure("write '" + path + "'");
    return ok();
}

Status TarFile::add_dir(const std::string& path) {
    return header(path, true, 0);
}

Status TarFile::add_bytes(const std::string& path, std::string_view data) {
    TRY(header(path, false, int64_t(data.size())));
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0)
        return failure("write '" + path + "'");
    return ok();
}

Status TarFile::add_stream(const std::string& path, int64_t size, const ReadFn& read) {
    TRY(header(path, false, size));
    std::vector<char> buf(1 << 20);
    int64_t left = size;
    for (;;) {
        size_t n = TRY(read(buf.data(), buf.size()));
        if (n == 0) break;
        if (int64_t(n) > left) return error("'" + path + "': more bytes than declared");
        if (archive_write_data(a_, buf.data(), n) < 0) return failure("write '" + path + "'");
        left -= int64_t(n);
    }
    if (left != 0) return error("'" + path + "': fewer bytes than declared");
    return ok();
}

Status TarFile::commit() {
    if (archive_write_close(a_) != ARCHIVE_OK) return failure("finish tar");
    if (::fsync(fd_.get()) < 0) return sys_error("fsync '" + tmp_ + "'");
    fd_.reset();
    if (::rename(tmp_.c_str(), target_.c_str()) < 0)
        return sys_error("rename to '" + target_ + "'");
    done_ = true;
    return ok();
}

}  // namespace berth::image::transport
