// Writing archives (oci-archive, docker-archive): a tar stream with libarchive into a
// temporary file beside the target, renamed over it only when complete.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

struct archive;

namespace berth::image::transport {

// An archive member's name as the layout knows it: leading "./" and "/" removed (archives
// read by oci-archive and docker-archive alike).
std::string clean_name(std::string n);

// Reads up to n bytes; 0 at the end.
using ReadFn = std::function<Result<size_t>(void* buf, size_t n)>;

class TarFile {
  public:
    // A temporary file in target's directory.
    static Result<std::unique_ptr<TarFile>> create(const std::string& target);
    ~TarFile();  // removes the temporary file unless committed
    TarFile(const TarFile&) = delete;
    TarFile& operator=(const TarFile&) = delete;

    Status add_dir(const std::string& path);
    Status add_bytes(const std::string& path, std::string_view data);
    // Adds a regular file of exactly `size` bytes read from `read`.
    Status add_stream(const std::string& path, int64_t size, const ReadFn& read);
    // Ends the tar, fsyncs and renames it over the target.
    Status commit();

  private:
    TarFile() = default;
    Status header(const std::string& path, bool dir, int64_t size);
    Error failure(const std::string& what);
    ::archive* a_ = nullptr;
    UniqueFd fd_;
    std::string tmp_, target_;
    bool done_ = false;
};

}  // namespace berth::image::transport
