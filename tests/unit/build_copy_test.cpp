// COPY from a build context: lexical checks of sources, sources beneath the context (a
// symlink out is refused), directory contents copied with symlinks as links, a file to a
// path or into a directory, owner and --chmod applied. Runs as the calling user.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "imagetool/build/copy.hpp"

using namespace berth;
using namespace berth::image::build;
namespace fs = std::filesystem;

namespace {

class CopyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-copy-test.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directories(dir_ + "/ctx/sub/inner");
        fs::create_directories(dir_ + "/root/etc");
        std::ofstream(dir_ + "/ctx/a") << "a";
        std::ofstream(dir_ + "/ctx/sub/inner/b") << "bb";
        std::ofstream(dir_ + "/secret") << "secret";
        fs::create_symlink(dir_ + "/secret", dir_ + "/ctx/out");
        fs::create_symlink("../a", dir_ + "/ctx/sub/rel");
        // A hostile image: /etc/dir leads to the host's /tmp.
        fs::create_symlink("/tmp", dir_ + "/root/etc/dir");
        ctx_ = open((dir_ + "/ctx").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        root_ = open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    void TearDown() override {
        close(ctx_);
        close(root_);
        fs::remove_all(dir_);
    }
    CopySpec spec(std::vector<std::string> src, std::string dest) {
        CopySpec s;
        s.sources = std::move(src);
        s.dest = std::move(dest);
        s.uid = getuid();
        s.gid = getgid();
        return s;
    }
    std::string read(const std::string& p) {
        std::ifstream f(dir_ + "/root" + p);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }
    std::string dir_;
    int ctx_ = -1, root_ = -1;
};

TEST(ContextRelative, CleansAndRefusesClimbingOut) {
    EXPECT_EQ(context_relative("a/./b/../c").value(), "a/c");
    EXPECT_EQ(context_relative("/abs/x").value(), "abs/x");
    EXPECT_EQ(context_relative(".").value(), ".");
    EXPECT_EQ(context_relative("sub/..").value(), ".");
    EXPECT_FALSE(context_relative("..").ok());
    EXPECT_FALSE(context_relative("sub/../../x").ok());
    EXPECT_NE(context_relative("../x").error().str().find("outside the build context"),
              std::string::npos);
}

TEST_F(CopyTest, FileToPathAndIntoDirectory) {
    ASSERT_TRUE(copy_into(ctx_, root_, spec({"a"}, "/new/name")).ok());
    EXPECT_EQ(read("/new/name"), "a");
    ASSERT_TRUE(copy_into(ctx_, root_, spec({"a", "sub/inner/b"}, "/multi")).ok());
    EXPECT_EQ(read("/multi/a"), "a");
    EXPECT_EQ(read("/multi/b"), "bb");
    // An existing directory takes the file inside.
    ASSERT_TRUE(copy_into(ctx_, root_, spec({"a"}, "/multi")).ok());
    EXPECT_EQ(read("/multi/a"), "a");
}

TEST_F(CopyTest, DirectoryContentsWithLinksAsLinks) {
    ASSERT_TRUE(copy_into(ctx_, root_, spec({"sub"}, "/d")).ok());
    EXPECT_EQ(read("/d/inner/b"), "bb");
    EXPECT_EQ(fs::read_symlink(dir_ + "/root/d/rel"), "../a");
    EXPECT_FALSE(fs::exists(dir_ + "/root/d/sub"));
}

TEST_F(CopyTest, SymlinkOutOfTheContextIsRefused) {
    auto st = copy_into(ctx_, root_, spec({"out"}, "/x"));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().str().find("outside the build context"), std::string::npos)
        << st.error().str();
    EXPECT_FALSE(fs::exists(dir_ + "/root/x"));
}

TEST_F(CopyTest, DestinationSymlinksStayInsideTheRoot) {
    std::string name = "planted-by-berth-copy-test-" + std::to_string(getpid());
    ASSERT_TRUE(copy_into(ctx_, root_, spec({"a"}, "/etc/dir/" + name)).ok());
    EXPECT_FALSE(fs::exists("/tmp/" + name));
    EXPECT_EQ(read("/tmp/" + name), "a");
}

TEST_F(CopyTest, ChmodApplies) {
    auto s = spec({"a"}, "/m");
    s.mode = 0741;
    ASSERT_TRUE(copy_into(ctx_, root_, s).ok());
    struct stat st;
    ASSERT_EQ(stat((dir_ + "/root/m").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0741u);
}

}  // namespace
