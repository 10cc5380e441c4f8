// Small file helpers: whole-file reads with a size cap, atomic writes, fd-level I/O.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth {

// Reads a whole file, failing with EFBIG past max_size bytes.
Result<std::string> read_file(const std::string& path, size_t max_size = 64u << 20);
Result<std::string> read_fd(int fd, size_t max_size = 64u << 20);
// Writes all bytes (retrying on EINTR and short writes).
Status write_all(int fd, std::string_view data);
// Writes to a temporary name in the same directory, fsyncs, renames over `path`.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// The same without the fsync: readers see the old or the new content, never a mix, but a
// crash may lose the update. For state that does not outlive a reboot anyway (the runtime's
// state root is a tmpfs under /run where engines use it; a container does not survive a
// reboot), where an fsync per create only costs time.
Status write_file_replace(const std::string& path, std::string_view data, mode_t mode = 0644);
// Writes a small value to an existing file (cgroup and procfs knobs): open O_WRONLY, one write.
Status write_file(const std::string& path, std::string_view data);
Status write_file_at(int dirfd, const std::string& name, std::string_view data);
// mkdir -p on the host (not in a root: for the runtime's own state directories).
Status mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -rf; missing is fine.
Status remove_all(const std::string& path);
// A directory `name` in `dirfd` that the caller owns but cannot read, write or search (an
// image's 0500 root/ unpacked rootless) is made rwx for its owner so its contents can be
// removed. Anything else is left alone: the removal that follows reports it.
void allow_owner_rwx(int dirfd, const char* name);
bool path_exists(const std::string& path);
// The names in a directory, without "." and ".."; empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& path);

}  // namespace berth
