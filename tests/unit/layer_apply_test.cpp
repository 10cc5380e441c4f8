// Layer application done right: whiteout ordering, opaque directories, hardlinks across layers,
// owners, setuid bits, mtimes, xattrs, compression and DiffIDs.
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "imagetool/layer/sha256.hpp"
#include "imagetool/layer/tar_reader.hpp"
#include "tests/unit/layer_testutil.hpp"

namespace berth::image::layer::testing {
namespace {

class Apply : public LayerFixture {};

TEST_F(Apply, BasicTree) {
    auto r = apply(Tar()
                       .dir("./")
                       .dir("etc")
                       .file("etc/hosts", "127.0.0.1 localhost\n")
                       .symlink("bin", "usr/bin")
                       .dir("usr")
                       .dir("usr/bin")
                       .file("usr/bin/tool", "#!/bin/sh\n", 0755)
                       .str());
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_EQ(content("etc/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(content("bin/tool"), "#!/bin/sh\n");
    EXPECT_EQ(lst("usr/bin/tool").st_mode & 07777, 0755u);
    EXPECT_EQ(r->entries, 7u);
}

TEST_F(Apply, MissingParentsAreCreated) {
    ASSERT_TRUE(apply(Tar().file("a/b/c/file", "x").str()));
    EXPECT_EQ(content("a/b/c/file"), "x");
    EXPECT_EQ(lst("a/b").st_mode & 07777, 0755u);
}

TEST_F(Apply, RelativeSymlinkInsideIsFollowedForParents) {
    ASSERT_TRUE(apply(Tar().dir("usr").dir("usr/lib").symlink("lib", "usr/lib").str()));
    ASSERT_TRUE(apply(Tar().file("lib/libx.so", "elf").str()));
    EXPECT_EQ(content("usr/lib/libx.so"), "elf");
    EXPECT_TRUE(S_ISLNK(lst("lib").st_mode));
}

TEST_F(Apply, WhiteoutRemovesLowerFileAndTree) {
    ASSERT_TRUE(apply(Tar().file("a", "1").dir("d").file("d/x", "1").file("d/y", "1").str()));
    ASSERT_TRUE(apply(Tar().file(".wh.a", "").file("d/.wh.x", "").str()));
    EXPECT_FALSE(exists("a"));
    EXPECT_FALSE(exists("d/x"));
    EXPECT_EQ(content("d/y"), "1");
    ASSERT_TRUE(apply(Tar().file(".wh.d", "").str()));
    EXPECT_FALSE(exists("d"));
}

TEST_F(Apply, WhiteoutAfterSameNameEntryKeepsThisLayers) {
    // The spec: a whiteout only hides lower layers, wherever it sits in the tar.
    ASSERT_TRUE(apply(Tar().file("a", "lower").str()));
    ASSERT_TRUE(apply(Tar().file("a", "upper").file(".wh.a", "").str()));
    EXPECT_EQ(content("a"), "upper");
}

TEST_F(Apply, WhiteoutBeforeSameNameEntry) {
    ASSERT_TRUE(apply(Tar().file("a", "lower").str()));
    ASSERT_TRUE(apply(Tar().file(".wh.a", "").file("a", "upper").str()));
    EXPECT_EQ(content("a"), "upper");
}

TEST_F(Apply, WhiteoutOfDirectoryThisLayerRefills) {
    ASSERT_TRUE(apply(Tar().dir("d").file("d/old", "1").dir("d/sub").file("d/sub/o", "1").str()));
    ASSERT_TRUE(apply(Tar()
                          .dir("d")
                          .file("d/new", "2")
                          .dir("d/sub")
                          .file("d/sub/n", "2")
                          .file(".wh.d", "")
                          .str()));
    EXPECT_FALSE(exists("d/old"));
    EXPECT_FALSE(exists("d/sub/o"));
    EXPECT_EQ(content("d/new"), "2");
    EXPECT_EQ(content("d/sub/n"), "2");
}

TEST_F(Apply, OpaqueAfterEntries) {
    ASSERT_TRUE(apply(Tar().dir("d").file("d/x", "1").dir("d/sub").file("d/sub/y", "1").str()));
    ASSERT_TRUE(apply(Tar().dir("d").file("d/z", "2").file("d/.wh..wh..opq", "").str()));
    EXPECT_FALSE(exists("d/x"));
    EXPECT_FALSE(exists("d/sub"));
    EXPECT_EQ(content("d/z"), "2");
}

TEST_F(Apply, OpaqueBeforeEntries) {
    ASSERT_TRUE(apply(Tar().dir("d").file("d/x", "1").str()));
    ASSERT_TRUE(apply(Tar().file("d/.wh..wh..opq", "").dir("d").file("d/z", "2").str()));
    EXPECT_FALSE(exists("d/x"));
    EXPECT_EQ(content("d/z"), "2");
}

TEST_F(Apply, OpaqueOnMissingDirectoryIsFine) {
    ASSERT_TRUE(apply(Tar().file("nowhere/.wh..wh..opq", "").file(".wh.ghost", "").str()));
    EXPECT_FALSE(exists("nowhere"));
}

TEST_F(Apply, AufsMetadataIgnored) {
    ASSERT_TRUE(apply(Tar().dir(".wh..wh.plnk").file(".wh..wh.aufs", "").str()));
    EXPECT_FALSE(exists(".wh..wh.aufs"));
}

TEST_F(Apply, HardlinksWithinAndAcrossLayers) {
    ASSERT_TRUE(apply(Tar().file("a", "data").hardlink("b", "a").str()));
    EXPECT_EQ(lst("a").st_ino, lst("b").st_ino);
    ASSERT_TRUE(apply(Tar().hardlink("c", "./a").str()));
    EXPECT_EQ(lst("c").st_ino, lst("a").st_ino);
    EXPECT_EQ(lst("a").st_nlink, 3u);
}

TEST_F(Apply, HardlinkReplacesExisting) {
    ASSERT_TRUE(apply(Tar().file("a", "data").file("b", "old").str()));
    ASSERT_TRUE(apply(Tar().hardlink("b", "a").str()));
    EXPECT_EQ(content("b"), "data");
}

TEST_F(Apply, ModesAndSetuid) {
    ASSERT_TRUE(
        apply(Tar().file("suid", "x", 04755).file("sgid", "x", 02711).dir("sticky", 01777).str()));
    EXPECT_EQ(lst("suid").st_mode & 07777, 04755u);
    EXPECT_EQ(lst("sgid").st_mode & 07777, 02711u);
    EXPECT_EQ(lst("sticky").st_mode & 07777, 01777u);
}

TEST_F(Apply, OwnersChownBeforeChmod) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    ASSERT_TRUE(apply(Tar()
                          .file("suid", "x", 04755, 1234, 5678)
                          .dir("d", 0750, 42, 43)
                          .symlink("l", "suid")
                          .str()));
    EXPECT_EQ(lst("suid").st_uid, 1234u);
    EXPECT_EQ(lst("suid").st_gid, 5678u);
    // chown after chmod would have cleared the setuid bit.
    EXPECT_EQ(lst("suid").st_mode & 07777, 04755u);
    EXPECT_EQ(lst("d").st_uid, 42u);
}

TEST_F(Apply, NoChownKeepsCaller) {
    opts_.chown = false;
    ASSERT_TRUE(apply(Tar().file("f", "x", 0644, 1234, 5678).str()));
    EXPECT_EQ(lst("f").st_uid, geteuid());
}

TEST_F(Apply, MtimesDirectoriesLast) {
    ASSERT_TRUE(apply(Tar()
                          .dir("d", 0755, 0, 0, 1234567890)
                          .file("d/f", "x", 0644, 0, 0, 1111111111)
                          .file("d/g", "x", 0644, 0, 0, 1222222222)
                          .symlink("d/l", "f")
                          .str()));
    EXPECT_EQ(lst("d").st_mtim.tv_sec, 1234567890);
    EXPECT_EQ(lst("d/f").st_mtim.tv_sec, 1111111111);
    EXPECT_EQ(lst("d/g").st_mtim.tv_sec, 1222222222);
    EXPECT_EQ(lst("d/l").st_mtim.tv_sec, 1000000000);
}

TEST_F(Apply, UserXattrs) {
    std::string probe = top_ + "/xattr-probe";
    ASSERT_TRUE(write_file_atomic(probe, "").ok());
    if (setxattr(probe.c_str(), "user.probe", "1", 1, 0) < 0) {
        unlink(probe.c_str());
        GTEST_SKIP() << "filesystem has no user xattrs";
    }
    unlink(probe.c_str());
    ASSERT_TRUE(apply(Tar().file("f", "x", 0644, 0, 0, 1, {{"user.mime", "text/plain"}}).str()));
    char buf[64] = {};
    ASSERT_EQ(getxattr(in_root("f").c_str(), "user.mime", buf, sizeof buf), 10);
    EXPECT_STREQ(buf, "text/plain");
}

TEST_F(Apply, SecurityCapabilitySurvivesChown) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    // VFS_CAP_REVISION_2 with cap_net_bind_service (bit 10) permitted and effective.
    std::string cap(
        "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    ASSERT_TRUE(
        apply(Tar().file("ping", "x", 0755, 0, 0, 1, {{"security.capability", cap}}).str()));
    char buf[64];
    ssize_t n = getxattr(in_root("ping").c_str(), "security.capability", buf, sizeof buf);
    ASSERT_EQ(n, 20);
    EXPECT_EQ(std::string(buf, 20), cap);
}

TEST_F(Apply, FifoAndDevices) {
    ASSERT_TRUE(apply(Tar().node("fifo", AE_IFIFO, 0, 0).str()));
    EXPECT_TRUE(S_ISFIFO(lst("fifo").st_mode));
    if (geteuid() != 0) return;
    auto r = apply(Tar().node("null", AE_IFCHR, 1, 3).str());
    ASSERT_TRUE(r) << r.error().str();
    if (r->warnings.empty()) {
        EXPECT_TRUE(S_ISCHR(lst("null").st_mode));
        EXPECT_EQ(lst("null").st_rdev, makedev(1, 3));
    }
}

TEST_F(Apply, DiffIdIsSha256OfTheTar) {
    std::string tar = Tar().file("f", "hello").str();
    opts_.expected_diff_id = sha256_digest(tar);
    auto r = apply_typed(gzip(tar), "application/vnd.oci.image.layer.v1.tar+gzip");
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_EQ(r->diff_id, sha256_digest(tar));
}

TEST_F(Apply, CompressionByMediaTypeAndSniffing) {
    std::string tar = Tar().file("f", "hello").str();
    ASSERT_TRUE(apply_typed(tar, "application/vnd.oci.image.layer.v1.tar"));
    ASSERT_TRUE(apply_typed(zstd(tar), "application/vnd.oci.image.layer.v1.tar+zstd"));
    // Docker's type, but the bytes are zstd, then plain tar.
    ASSERT_TRUE(apply_typed(zstd(tar), "application/vnd.docker.image.rootfs.diff.tar.gzip"));
    ASSERT_TRUE(apply_typed(tar, "application/vnd.docker.image.rootfs.diff.tar.gzip"));
    ASSERT_TRUE(apply_typed(gzip(tar), "application/vnd.docker.image.rootfs.diff.tar.gzip"));
    EXPECT_EQ(content("f"), "hello");
}

// Writers that never close their tar writer (Debian's umoci 0.4.7 `insert`) end the stream
// right after the last entry's data: no padding to 512 bytes, no end-of-archive blocks.
TEST_F(Apply, TarEndingAfterTheLastEntrysDataIsAccepted) {
    std::string pad(507, '\0');
    std::vector<std::string> tars = {
        // Only the data, unpadded.
        raw_header("a", '0', 5) + "hello",
        // Padded, but no zero blocks; then one zero block only.
        raw_header("a", '0', 5) + "hello" + pad,
        raw_header("a", '0', 5) + "hello" + pad + std::string(512, '\0'),
        // Part of the padding.
        raw_header("a", '0', 5) + "hello" + pad.substr(0, 100),
        // A directory after the file, then the end.
        raw_header("a", '0', 5) + "hello" + pad + raw_header("d/", '5', 0),
        // A second file, unpadded.
        raw_header("a", '0', 5) + "hello" + pad + raw_header("d/", '5', 0) +
            raw_header("d/b", '0', 600) + std::string(600, 'b'),
    };
    for (size_t i = 0; i < tars.size(); i++) {
        SCOPED_TRACE("tar " + std::to_string(i));
        (void)remove_all(root_);
        ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
        rootfd_.reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        opts_.expected_diff_id = sha256_digest(tars[i]);
        auto r = apply_typed(gzip(tars[i]), "application/vnd.oci.image.layer.v1.tar+gzip");
        ASSERT_TRUE(r) << r.error().str();
        EXPECT_EQ(r->diff_id, sha256_digest(tars[i]));
        EXPECT_EQ(content("a"), "hello");
        if (i == 5) {
            EXPECT_EQ(content("d/b"), std::string(600, 'b'));
        }
    }
    // A reader that lists entries without reading their data sees the same entries.
    auto s = memory_stream(tars[5]);
    auto tr = TarReader::open(s.get(), Limits{});
    ASSERT_TRUE(tr);
    Entry e;
    std::vector<std::string> names;
    for (;;) {
        auto more = (*tr)->next(e);
        ASSERT_TRUE(more) << more.error().str();
        if (!*more) break;
        names.push_back(e.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"a", "d/", "d/b"}));
    auto diff = (*tr)->finish();
    ASSERT_TRUE(diff);
    EXPECT_EQ(*diff, sha256_digest(tars[5]));
}

TEST_F(Apply, MultiMemberGzip) {
    std::string tar = Tar().file("f", std::string(300000, 'q')).str();
    std::string gz = gzip(tar.substr(0, 100000)) + gzip(tar.substr(100000));
    auto r = apply_typed(gz, "application/vnd.oci.image.layer.v1.tar+gzip");
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_EQ(content("f"), std::string(300000, 'q'));
}

TEST_F(Apply, RootEntrySetsRootMode) {
    ASSERT_TRUE(apply(Tar().dir("./", 0700).str()));
    struct stat st;
    ASSERT_EQ(stat(root_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// docs/layers.md "One set of semantics": the cases where the old snapshot cache differed.
TEST_F(Apply, WhiteoutsUnderASymlinkedDirectoryResolveInRoot) {
    ASSERT_TRUE(apply(Tar()
                          .dir("usr")
                          .dir("usr/bin")
                          .file("usr/bin/sh", "sh")
                          .file("usr/bin/ls", "ls")
                          .dir("usr/lib")
                          .file("usr/lib/a", "a")
                          .symlink("bin", "usr/bin")
                          .symlink("lib", "usr/lib")
                          .str()));
    ASSERT_TRUE(apply(Tar().file("bin/.wh.sh", "").file("lib/.wh..wh..opq", "").str()));
    EXPECT_TRUE(S_ISLNK(lst("bin").st_mode));
    struct stat st;
    EXPECT_EQ(lstat(in_root("usr/bin/sh").c_str(), &st), -1);
    EXPECT_EQ(content("usr/bin/ls"), "ls");
    EXPECT_NE(lstat(in_root("usr/lib/a").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(lst("usr/lib").st_mode));
}

TEST_F(Apply, ParentsKeepTheirTimesAndImplicitParentsGetTheEntrys) {
    ASSERT_TRUE(apply(Tar().dir("d", 0755, 0, 0, 1111).file("d/f", "x").str()));
    ASSERT_TRUE(apply(Tar().file("d/g", "y").file("new/deep/h", "z", 0644, 0, 0, 2222).str()));
    EXPECT_EQ(lst("d").st_mtime, 1111);
    EXPECT_EQ(lst("new").st_mtime, 2222);
    EXPECT_EQ(lst("new/deep").st_mtime, 2222);
    EXPECT_EQ(lst("new/deep").st_mode & 07777, 0755u);
}

TEST_F(Apply, OverlayMetadataAndWhiteoutDevicesAreNeverMade) {
    if (geteuid() != 0) GTEST_SKIP() << "mknod needs root";
    auto r = apply(Tar().node("c00", S_IFCHR, 0, 0).file("keep", "k").str());
    ASSERT_TRUE(r) << r.error().str();
    struct stat st;
    EXPECT_NE(lstat(in_root("c00").c_str(), &st), 0);
    EXPECT_EQ(content("keep"), "k");
}

TEST_F(Apply, SparseAndEmptyFiles) {
    ASSERT_TRUE(apply(Tar().file("empty", "").str()));
    EXPECT_EQ(lst("empty").st_size, 0);
}

TEST(RootlessXattr, EncodesAsUmociDoes) {
    EXPECT_EQ(rootless_xattr(0, 0), "");
    // umoci writes 0 (the caller) as NoopID, 4294967295.
    EXPECT_EQ(rootless_xattr(0, 5), std::string("\x08\xff\xff\xff\xff\x0f\x10\x05", 8));
    EXPECT_EQ(rootless_xattr(1000, 100), std::string("\x08\xe8\x07\x10\x64", 5));
}

// umoci's rootless unpack: read-only directories get their files, and their modes after; owners
// go to user.rootlesscontainers; devices are skipped and counted (the caller warns once); whiteouts
// in a 0500 directory.
TEST_F(Apply, RootlessReadOnlyDirectoriesOwnersDevices) {
    std::string probe = top_ + "/xattr-probe";
    ASSERT_TRUE(write_file_atomic(probe, "").ok());
    if (setxattr(probe.c_str(), "user.probe", "1", 1, 0) < 0) {
        unlink(probe.c_str());
        GTEST_SKIP() << "filesystem has no user xattrs";
    }
    unlink(probe.c_str());
    opts_.rootless = true;
    auto r = apply(Tar()
                       .dir("root", 0550)
                       .file("root/f", "x", 0400, 1000, 100)
                       .file("root/zero", "0", 0000, 7, 7)
                       .dir("root/sub", 0500)
                       .file("root/sub/g", "y", 0644)
                       .dir("locked", 0000)
                       .file("locked/in", "z")
                       .node("null", S_IFCHR, 1, 3)
                       .str());
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_TRUE(r->warnings.empty());
    EXPECT_EQ(r->devices_skipped, 1u);
    EXPECT_EQ(r->first_device_skipped, "null");
    EXPECT_EQ(lst("root").st_mode & 07777, 0550u);
    EXPECT_EQ(lst("root/sub").st_mode & 07777, 0500u);
    EXPECT_EQ(lst("locked").st_mode & 07777, 0000u);
    EXPECT_FALSE(exists("null"));
    char buf[16] = {};
    ASSERT_EQ(getxattr(in_root("root/f").c_str(), kRootlessXattr, buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), rootless_xattr(1000, 100));
    EXPECT_LT(getxattr(in_root("root/sub/g").c_str(), kRootlessXattr, buf, sizeof buf), 0);
    // A later layer adds to the read-only directories and whites out in them.
    r = apply(
        Tar().file("root/sub/.wh.g", "").file("root/sub/h", "h").file("locked/more", "m").str());
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_EQ(lst("root/sub").st_mode & 07777, 0500u);
    EXPECT_EQ(lst("locked").st_mode & 07777, 0000u);
    chmod(in_root("locked").c_str(), 0700);
    EXPECT_FALSE(exists("root/sub/g"));
    EXPECT_EQ(content("root/sub/h"), "h");
    EXPECT_EQ(content("locked/more"), "m");
}

}  // namespace
}  // namespace berth::image::layer::testing
