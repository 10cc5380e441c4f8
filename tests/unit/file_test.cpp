// base/file: read caps, atomic writes that leave no temporary behind, rm -rf that never
// follows a symlink out, mkdir -p.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <dirent.h>
#include <gtest/gtest.h>

#include "base/file.hpp"

using namespace berth;

namespace {

std::string slurp(const std::string& path) {
    auto r = read_file(path);
    return r.ok() ? r.value() : "<" + r.error().str() + ">";
}

class File : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-file-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { EXPECT_TRUE(remove_all(dir_).ok()); }

    int entries(const std::string& d) {
        int n = 0;
        DIR* dp = opendir(d.c_str());
        if (!dp) return -1;
        while (struct dirent* e = readdir(dp))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") n++;
        closedir(dp);
        return n;
    }

    std::string dir_;
};

}  // namespace

TEST_F(File, WriteAtomicCreatesAndReplaces) {
    std::string p = dir_ + "/state.json";
    ASSERT_TRUE(write_file_atomic(p, "one", 0600).ok());
    struct stat st;
    ASSERT_EQ(stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(slurp(p), "one");
    ASSERT_TRUE(write_file_atomic(p, "two, longer").ok());
    EXPECT_EQ(slurp(p), "two, longer");
    ASSERT_TRUE(write_file_atomic(p, "").ok());
    EXPECT_EQ(slurp(p), "");
    EXPECT_EQ(entries(dir_), 1);  // no temporary left behind
}

TEST_F(File, WriteAtomicFailureLeavesNothing) {
    auto st = write_file_atomic(dir_ + "/missing/state.json", "x");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ENOENT);
    // Renaming over a directory fails after the temporary exists: it must be cleaned up.
    ASSERT_EQ(mkdir((dir_ + "/isdir").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/isdir/child").c_str(), 0755), 0);
    auto st2 = write_file_atomic(dir_ + "/isdir", "x");
    ASSERT_FALSE(st2.ok());
    EXPECT_NE(st2.error().str().find("write '" + dir_ + "/isdir'"), std::string::npos)
        << st2.error().str();
    EXPECT_EQ(entries(dir_), 1);
}

TEST_F(File, ReadFileCap) {
    std::string p = dir_ + "/big";
    ASSERT_TRUE(write_file_atomic(p, std::string(100000, 'x')).ok());
    auto whole = read_file(p, 100000);
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(whole->size(), 100000u);
    auto capped = read_file(p, 99999);
    ASSERT_FALSE(capped.ok());
    EXPECT_EQ(capped.error().code(), EFBIG);
    EXPECT_NE(capped.error().str().find(p), std::string::npos) << capped.error().str();
    auto missing = read_file(dir_ + "/nope");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), ENOENT);
    EXPECT_EQ(missing.error().str(), "open '" + dir_ + "/nope': No such file or directory");
}

TEST_F(File, RemoveAllDoesNotFollowSymlinks) {
    std::string outside = dir_ + "/outside";
    ASSERT_TRUE(mkdir_p(outside + "/keep").ok());
    ASSERT_TRUE(write_file_atomic(outside + "/keep/file", "precious").ok());
    std::string tree = dir_ + "/tree";
    ASSERT_TRUE(mkdir_p(tree + "/a/b/c").ok());
    ASSERT_TRUE(write_file_atomic(tree + "/a/b/c/f", "x").ok());
    ASSERT_EQ(symlink(outside.c_str(), (tree + "/a/link-to-outside").c_str()), 0);
    ASSERT_EQ(symlink("/nonexistent", (tree + "/dangling").c_str()), 0);
    ASSERT_EQ(mkfifo((tree + "/a/fifo").c_str(), 0600), 0);
    chmod((tree + "/a/b").c_str(), 0500);  // root removes regardless; others still can't
    chmod((tree + "/a/b").c_str(), 0700);
    ASSERT_TRUE(remove_all(tree).ok());
    EXPECT_FALSE(path_exists(tree));
    EXPECT_EQ(slurp(outside + "/keep/file"), "precious");
    EXPECT_TRUE(remove_all(tree).ok());  // missing is fine
    // A symlink given directly is removed, not its target.
    ASSERT_EQ(symlink(outside.c_str(), (dir_ + "/l").c_str()), 0);
    ASSERT_TRUE(remove_all(dir_ + "/l").ok());
    EXPECT_TRUE(path_exists(outside + "/keep/file"));
}

TEST_F(File, MkdirP) {
    ASSERT_TRUE(mkdir_p(dir_ + "/x/y//z/").ok());
    struct stat st;
    ASSERT_EQ(stat((dir_ + "/x/y/z").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_TRUE(mkdir_p(dir_ + "/x/y/z").ok());  // existing is fine
    ASSERT_TRUE(write_file_atomic(dir_ + "/file", "x").ok());
    auto st2 = mkdir_p(dir_ + "/file/sub");
    ASSERT_FALSE(st2.ok());
    EXPECT_EQ(st2.error().code(), ENOTDIR);
}

TEST_F(File, PathExistsSeesDanglingLinks) {
    ASSERT_EQ(symlink("/nonexistent-target", (dir_ + "/dangling").c_str()), 0);
    EXPECT_TRUE(path_exists(dir_ + "/dangling"));
    EXPECT_FALSE(path_exists(dir_ + "/absent"));
}

TEST_F(File, WriteAllAndWriteFile) {
    std::string p = dir_ + "/knob";
    ASSERT_TRUE(write_file_atomic(p, "old").ok());
    ASSERT_TRUE(write_file(p, "new").ok());
    EXPECT_EQ(slurp(p), "new");
    auto st = write_file(dir_ + "/absent-knob", "1");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ENOENT);
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    ASSERT_TRUE(write_all(fds[1], "through a pipe").ok());
    close(fds[1]);
    auto got = read_fd(fds[0]);
    close(fds[0]);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "through a pipe");
}
