// ADD of a local tar archive: recognised by its bytes (as Docker does, not by its name) and
// unpacked at the destination by the layer code, so an entry can never land outside the
// destination (a '..' entry, or a path through a symlink leading out, is an error).
#pragma once

#include "base/result.hpp"

namespace berth::image::build {

enum class ArchiveKind { none, tar, gzip, zstd, xz, bzip2 };

const char* archive_kind_name(ArchiveKind k);

// What the file at fd holds: a tar, a gzip or zstd stream whose content starts with a tar
// header, xz or bzip2 (by magic only: the layer code does not read them), or none (a plain
// file, copied as it is). Reads from offset 0; leaves the offset undefined.
Result<ArchiveKind> archive_kind(int fd);

// Unpacks a tar, gzip or zstd archive into the directory dest_fd: owners, modes and times
// from the archive.
Status unpack_archive(int fd, ArchiveKind kind, int dest_fd);

}  // namespace berth::image::build
