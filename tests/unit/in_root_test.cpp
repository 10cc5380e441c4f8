// In-root resolution: "..", absolute symlinks, loops and links out of the root all stay inside,
// both through openat2 and through the portable walk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "base/file.hpp"
#include "base/in_root.hpp"

using namespace berth;

namespace {

class InRoot : public ::testing::TestWithParam<unsigned> {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-inroot-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        root_ = top_ + "/root";
        ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
        // Outside the root: a canary that must never be reached.
        ASSERT_TRUE(write_file_atomic(top_ + "/canary", "host").ok());
        ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0755), 0);
        ASSERT_TRUE(write_file_atomic(root_ + "/etc/canary", "inside").ok());
        ASSERT_TRUE(write_file_atomic(root_ + "/canary", "inside-top").ok());
        ASSERT_EQ(symlink("/etc", (root_ + "/abs").c_str()), 0);
        ASSERT_EQ(symlink("../../../..", (root_ + "/etc/up").c_str()), 0);
        ASSERT_EQ(symlink("loop2", (root_ + "/loop1").c_str()), 0);
        ASSERT_EQ(symlink("loop1", (root_ + "/loop2").c_str()), 0);
        ASSERT_EQ(symlink(top_.c_str(), (root_ + "/hostdir").c_str()), 0);
        ASSERT_EQ(symlink("/", (root_ + "/slash").c_str()), 0);
        ASSERT_EQ(symlink("/proc/self/fd/0", (root_ + "/magic").c_str()), 0);
        rootfd_.reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(rootfd_.valid());
    }
    void TearDown() override { (void)remove_all(top_); }

    std::string read_in_root(const std::string& p) {
        auto fd = open_in_root(rootfd_.get(), p, O_RDONLY, 0, GetParam());
        if (!fd) return "ERR:" + std::to_string(fd.error().code());
        auto s = read_fd(fd->get());
        return s ? *s : "READERR";
    }

    std::string top_, root_;
    UniqueFd rootfd_;
};

TEST_P(InRoot, DotDotIsClamped) {
    EXPECT_EQ(read_in_root("../../../canary"), "inside-top");
    EXPECT_EQ(read_in_root("/etc/../../canary"), "inside-top");
}

TEST_P(InRoot, AbsoluteSymlinkStaysInside) {
    EXPECT_EQ(read_in_root("/abs/canary"), "inside");
    EXPECT_EQ(read_in_root("etc/up/canary"), "inside-top");
    EXPECT_EQ(read_in_root("slash/canary"), "inside-top");
}

TEST_P(InRoot, LinkToHostPathResolvesInRoot) {
    // hostdir -> /tmp/berth-inroot-XXX: that path does not exist inside the root.
    EXPECT_EQ(read_in_root("hostdir/canary"), "ERR:" + std::to_string(ENOENT));
}

TEST_P(InRoot, LoopsFail) {
    EXPECT_EQ(read_in_root("loop1"), "ERR:" + std::to_string(ELOOP));
}

TEST_P(InRoot, MagicLinksNotFollowed) {
    auto s = read_in_root("magic");
    EXPECT_NE(s, "inside");
    EXPECT_EQ(s.rfind("ERR:", 0), 0u) << s;
}

TEST_P(InRoot, CreateThroughSymlinkLandsInside) {
    auto fd =
        open_in_root(rootfd_.get(), "/abs/new", O_WRONLY | O_CREAT | O_EXCL, 0600, GetParam());
    ASSERT_TRUE(fd.ok()) << fd.error().str();
    EXPECT_TRUE(path_exists(root_ + "/etc/new"));
    EXPECT_FALSE(path_exists("/etc/new"));
}

TEST_P(InRoot, NoFollowLast) {
    auto fd = open_in_root(rootfd_.get(), "abs", O_PATH, 0, GetParam() | kInRootNoFollowLast);
    ASSERT_TRUE(fd.ok()) << fd.error().str();
    struct stat st;
    ASSERT_EQ(fstat(fd->get(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_P(InRoot, MkdirAllFollowsLinksInside) {
    auto fd = mkdir_all_in_root(rootfd_.get(), "/hostdir/x/y", 0755, GetParam());
    ASSERT_TRUE(fd.ok()) << fd.error().str();
    // The link target (top_) was recreated inside the root, never on the host.
    EXPECT_TRUE(path_exists(root_ + top_ + "/x/y"));
    EXPECT_FALSE(path_exists(top_ + "/x"));
    auto bad = mkdir_all_in_root(rootfd_.get(), "/canary/sub", 0755, GetParam());
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code(), ENOTDIR);
}

TEST_P(InRoot, ParentAndName) {
    auto pn = open_parent_in_root(rootfd_.get(), "/abs/../../etc/file", GetParam());
    ASSERT_TRUE(pn.ok()) << pn.error().str();
    EXPECT_EQ(pn->name, "file");
    ASSERT_EQ(mkdirat(pn->dir.get(), pn->name.c_str(), 0755), 0);
    EXPECT_TRUE(path_exists(root_ + "/etc/file"));
    EXPECT_FALSE(open_parent_in_root(rootfd_.get(), "/", GetParam()).ok());
    EXPECT_FALSE(open_parent_in_root(rootfd_.get(), "a/..", GetParam()).ok());
}

// issue 16: the walk opened an existing file, and followed a symlink, where openat2 says EEXIST.
TEST_P(InRoot, CreateExclusiveNeverOpensOrFollows) {
    for (const char* p : {"canary", "abs", "hostdir", "slash", "etc/up"}) {
        auto fd = open_in_root(rootfd_.get(), p, O_WRONLY | O_CREAT | O_EXCL, 0644, GetParam());
        ASSERT_FALSE(fd.ok()) << p;
        EXPECT_EQ(fd.error().code(), EEXIST) << p;
    }
    ASSERT_EQ(symlink("newfile", (root_ + "/dangling").c_str()), 0);
    auto fd =
        open_in_root(rootfd_.get(), "dangling", O_WRONLY | O_CREAT | O_EXCL, 0644, GetParam());
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().code(), EEXIST);
    EXPECT_FALSE(path_exists(root_ + "/newfile"));
    EXPECT_EQ(read_in_root("canary"), "inside-top");
    auto made =
        open_in_root(rootfd_.get(), "etc/new", O_WRONLY | O_CREAT | O_EXCL, 0600, GetParam());
    ASSERT_TRUE(made.ok()) << made.error().str();
    EXPECT_TRUE(path_exists(root_ + "/etc/new"));
}

// RESOLVE_BENEATH: links and ".." that leave the root fail with EXDEV instead of clamping.
TEST_P(InRoot, BeneathRefusesWhatInRootClamps) {
    for (const char* p : {"abs/canary", "etc/up/canary", "../canary", "slash/canary"}) {
        auto fd = open_in_root(rootfd_.get(), p, O_RDONLY, 0, GetParam() | kInRootBeneath);
        ASSERT_FALSE(fd.ok()) << p;
        EXPECT_EQ(fd.error().code(), EXDEV) << p;
    }
    auto fd =
        open_in_root(rootfd_.get(), "etc/../canary", O_RDONLY, 0, GetParam() | kInRootBeneath);
    ASSERT_TRUE(fd.ok()) << fd.error().str();
}

// The walk hands back the inode it checked, not whatever has the name by then.
TEST_P(InRoot, OpensTheLastComponentOnce) {
    auto fd = open_in_root(rootfd_.get(), "etc/canary", O_RDONLY | O_NOFOLLOW, 0, GetParam());
    ASSERT_TRUE(fd.ok()) << fd.error().str();
    struct stat a, b;
    ASSERT_EQ(fstat(fd->get(), &a), 0);
    ASSERT_EQ(stat((root_ + "/etc/canary").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_FALSE(open_in_root(rootfd_.get(), "abs", O_RDONLY | O_NOFOLLOW, 0,
                              GetParam() | kInRootNoFollowLast)
                     .ok());
}

INSTANTIATE_TEST_SUITE_P(Modes, InRoot, ::testing::Values(kInRootNone, kInRootForceWalk),
                         [](const auto& info) {
                             return info.param == kInRootNone ? std::string("openat2")
                                                              : std::string("walk");
                         });

}  // namespace
