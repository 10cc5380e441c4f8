// The manifest of an unpacked tree (umoci keeps an mtree file for the same purpose): for every
// entry its type and mode, owner, size, mtime, and the inode's identity (inode number and
// ctime). `commit` of a full-unpack bundle compares the tree against it.
//
// Why ctime and inode rather than a content hash (umoci hashes every file at unpack): every
// change a process can make to an inode (write, chmod, chown, xattr, link count) moves its
// ctime, and a replaced file is a new inode, so the two find every change without reading
// any file at unpack time or at commit. The cost: a file rewritten with the same bytes and
// times, or chmod-ed to its own mode, is recorded again (umoci would drop it), and a bundle
// copied elsewhere (new inodes) reads as changed everywhere: commit it where it was unpacked.
//
// Text format, one entry a line, walk order (parents first):
//   PATH MODE UID GID SIZE MTIME CTIME INO NLINK
// PATH relative to the rootfs ("." the root itself), bytes outside 0x21..0x7e and '%' as %XX;
// MODE octal st_mode (type included); times as SECONDS.NANOSECONDS.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace berth::image::bundle {

struct MtreeEntry {
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    int64_t size = 0;
    struct timespec mtime {};
    struct timespec ctime {};
    uint64_t ino = 0;
    uint64_t nlink = 0;
};

using Mtree = std::unordered_map<std::string, MtreeEntry>;

MtreeEntry mtree_entry(const struct stat& st);
// The entry as recorded still describes the same, unchanged inode.
bool mtree_same(const MtreeEntry& recorded, const MtreeEntry& now);

// Walks the tree under `rootfd` (never following symlinks, not crossing into other mounts)
// and returns the manifest text.
Result<std::string> scan_mtree(int rootfd);
Result<Mtree> parse_mtree(std::string_view text);

std::string mtree_escape(std::string_view path);

// <bundle>/.berth-image/rootfs.mtree
std::string mtree_path(const std::string& bundle_dir);
Status write_bundle_mtree(const std::string& bundle_dir);
Result<Mtree> read_bundle_mtree(const std::string& bundle_dir);

}  // namespace berth::image::bundle
