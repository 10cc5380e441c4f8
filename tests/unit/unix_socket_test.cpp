// unix_address: short paths as given, long ones through /proc/self/fd/N/name; bind and
// connect work both ways.
#include "base/unix_socket.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/file.hpp"

namespace berth {
namespace {

class UnixSocketTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-unix-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)remove_all(dir_); }
    std::string dir_;
};

void bind_connect(const std::string& path) {
    UniqueFd srv(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    auto a = unix_address(path);
    ASSERT_TRUE(a.ok()) << a.error().str();
    ASSERT_EQ(::bind(srv.get(), a->get(), a->len), 0) << path;
    ASSERT_EQ(::listen(srv.get(), 1), 0);
    struct stat sb;
    ASSERT_EQ(::stat(path.c_str(), &sb), 0) << "the socket exists under its real name";
    EXPECT_TRUE(S_ISSOCK(sb.st_mode));
    UniqueFd cli(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    auto b = unix_address(path);
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(::connect(cli.get(), b->get(), b->len), 0);
    UniqueFd conn(::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(conn.valid());
    ASSERT_EQ(::send(cli.get(), "x", 1, 0), 1);
    char c = 0;
    ASSERT_EQ(::recv(conn.get(), &c, 1, 0), 1);
    EXPECT_EQ(c, 'x');
}

TEST_F(UnixSocketTest, ShortPathIsUsedAsIs) {
    std::string p = dir_ + "/s.sock";
    auto a = unix_address(p);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(std::string(a->addr.sun_path), p);
    EXPECT_FALSE(a->dir.valid());
    bind_connect(p);
}

TEST_F(UnixSocketTest, LongPathGoesThroughTheDirectoryFd) {
    // A 64-hex id under a deep root, as dockerd's shim and the tests make them.
    std::string d = dir_ + "/runtime-runc/moby/" + std::string(64, 'a');
    ASSERT_TRUE(mkdir_p(d).ok());
    std::string p = d + "/start.sock";
    ASSERT_GT(p.size(), sizeof(sockaddr_un::sun_path));
    auto a = unix_address(p);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(std::string(a->addr.sun_path).rfind("/proc/self/fd/", 0), 0u);
    EXPECT_TRUE(a->dir.valid());
    bind_connect(p);
}

TEST_F(UnixSocketTest, MissingDirectoryAndOverlongNameAreErrors) {
    std::string p = dir_ + "/" + std::string(120, 'b') + "/s.sock";
    auto a = unix_address(p);
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().str().find("socket directory"), std::string::npos);
    auto b = unix_address(dir_ + "/" + std::string(120, 'c'));
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().str().find("too long"), std::string::npos);
    EXPECT_FALSE(unix_address("").ok());
}

}  // namespace
}  // namespace berth
