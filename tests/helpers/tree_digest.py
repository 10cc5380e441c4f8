#!/usr/bin/env python3
# Prints one line per entry of a directory tree (type, mode, owner, size, content hash, link
# target, xattrs, hardlink group), sorted, so two trees compare with diff. Symlinks are never
# followed. Usage: tree_digest.py [--mtime] [--no-owner] DIR
import hashlib
import os
import stat
import sys


def xattrs(path):
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return ""
    out = []
    for n in names:
        if n.startswith("trusted.overlay.") or n == "security.selinux":
            continue
        try:
            v = os.getxattr(path, n, follow_symlinks=False)
        except OSError:
            continue
        out.append("%s=%s" % (n, v.hex()))
    return ",".join(out)


def main():
    args = sys.argv[1:]
    with_mtime = "--mtime" in args
    with_owner = "--no-owner" not in args
    args = [a for a in args if not a.startswith("--")]
    top = args[0]
    # Hardlink groups: inodes seen under two or more paths of this tree (an overlay reports
    # the lower inode's nlink, which counts names hidden by whiteouts).
    seen = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                seen[(st.st_dev, st.st_ino)] = seen.get((st.st_dev, st.st_ino), 0) + 1
    inodes = {}
    lines = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, top)
            st = os.lstat(p)
            m = st.st_mode
            kind = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
                    stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFSOCK: "s"}[stat.S_IFMT(m)]
            f = [rel, kind, "%04o" % stat.S_IMODE(m)]
            if with_owner:
                f.append("%d:%d" % (st.st_uid, st.st_gid))
            if kind == "f":
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                f += [str(st.st_size), h.hexdigest()[:16]]
                if seen.get((st.st_dev, st.st_ino), 0) > 1:
                    # Hardlink groups, named by the first path that has the inode.
                    key = (st.st_dev, st.st_ino)
                    f.append("link=" + inodes.setdefault(key, rel))
            elif kind == "l":
                f.append("-> " + os.readlink(p))
            elif kind in "cb":
                f.append("%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
            if with_mtime and kind != "d":
                f.append("mtime=%d" % st.st_mtime)
            x = xattrs(p)
            if x:
                f.append("xattr:" + x)
            lines.append(" ".join(f))
    # os.walk visits in sorted order already; hardlink names depend on it, so keep it stable.
    sys.stdout.write("\n".join(lines) + ("\n" if lines else ""))


if __name__ == "__main__":
    main()
