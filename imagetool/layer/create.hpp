// Making a layer from a directory tree: a PAX tar in sorted order (reproducible), symlinks
// stored not followed, hardlinks detected, numeric owners, xattrs, device nodes.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace berth::image::layer {

using TarSink = std::function<Status(const void* data, size_t len)>;

// Owners as a rootless caller stores them (a normal user's import): the caller's own uid and
// gid become 0, and an owner recorded in user.rootlesscontainers by a rootless unpack is
// stored instead (the xattr itself is not), as `umoci repack --rootless` does.
struct TreeOwners {
    bool rootless = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

// A PAX tar written entry by entry (commit's diff walks use it; write_tree_tar is one walk).
class TarWriter {
  public:
    explicit TarWriter(const TarSink& sink);  // `sink` must outlive the writer
    ~TarWriter();
    TarWriter(const TarWriter&) = delete;
    TarWriter& operator=(const TarWriter&) = delete;

    // Owners as `owners` says (rootless import); before open().
    void set_owners(const TreeOwners& owners);
    Status open();
    // Entry `name` of the directory `dirfd`, archived as `path` ("./a/b"). Never follows a
    // symlink: a symlink is archived as one. With `recurse`, a directory's contents follow.
    // A regular file whose inode was already archived becomes a hardlink to that entry.
    Status add(int dirfd, const std::string& name, const std::string& path, bool recurse);
    // Everything under the directory `dirfd` (archived as `path`), sorted, recursively.
    Status add_children(int dirfd, const std::string& path);
    // The directory `fd` itself as "./".
    Status add_root(int fd);
    // An empty regular file with `st`'s owner and times and the permission bits `mode`: the
    // ".wh." whiteout entries.
    Status add_marker(const std::string& path, const struct stat& st, mode_t mode);
    Status close();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Writes the tree at `dir` (its contents, as "./..." entries plus "./" itself) to `sink`.
Status write_tree_tar(const std::string& dir, const TarSink& sink, const TreeOwners& owners = {});

}  // namespace berth::image::layer
