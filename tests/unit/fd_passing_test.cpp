// base/fd_passing: one fd with its message, and the failures (no fd, two fds = MSG_CTRUNC,
// peer gone) that must not pass silently or leak a descriptor.
#include "base/fd_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace {

using berth::recv_fd;
using berth::send_fd;
using berth::UniqueFd;

struct Pair {
    UniqueFd a, b;
    explicit Pair(int type = SOCK_SEQPACKET) {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

int open_fds() {
    int n = 0;
    for (int fd = 0; fd < 1024; ++fd)
        if (::fcntl(fd, F_GETFD) >= 0) ++n;
    return n;
}

TEST(FdPassing, CarriesOneFdAndItsMessage) {
    Pair p;
    UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f);
    ASSERT_TRUE(send_fd(p.a.get(), f.get(), "/dev/ptmx").ok());
    auto r = recv_fd(p.b.get());
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(r->data, "/dev/ptmx");
    struct stat s1, s2;
    ASSERT_EQ(::fstat(f.get(), &s1), 0);
    ASSERT_EQ(::fstat(r->fd.get(), &s2), 0);
    EXPECT_EQ(s1.st_ino, s2.st_ino);
    EXPECT_EQ(s1.st_dev, s2.st_dev);
    // MSG_CMSG_CLOEXEC: the received copy does not leak into an exec'd child.
    EXPECT_TRUE(::fcntl(r->fd.get(), F_GETFD) & FD_CLOEXEC);
}

TEST(FdPassing, LongMessageOnAStreamSocket) {
    Pair p(SOCK_STREAM);
    UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::string msg(3000, 'x');
    ASSERT_TRUE(send_fd(p.a.get(), f.get(), msg).ok());
    auto r = recv_fd(p.b.get(), 8192);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(r->data, msg);
}

TEST(FdPassing, MessageWithoutFdIsAnError) {
    Pair p;
    ASSERT_EQ(::send(p.a.get(), "S", 1, 0), 1);
    auto r = recv_fd(p.b.get());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("0 fds"), std::string::npos) << r.error().str();
}

TEST(FdPassing, TruncatedControlDataIsAnErrorAndLeaksNothing) {
    Pair p;
    UniqueFd f1(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    UniqueFd f2(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    UniqueFd f3(::open("/dev/full", O_RDONLY | O_CLOEXEC));
    // Three fds in one message: more than the receiver's room (one int, padded to room for two
    // on 64-bit), so the kernel cuts the control data (MSG_CTRUNC) and closes what it cut;
    // recv_fd must close the ones that did arrive.
    int fds[3] = {f1.get(), f2.get(), f3.get()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
    char byte = 'S';
    iovec iov{&byte, 1};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    ASSERT_EQ(::sendmsg(p.a.get(), &mh, 0), 1);
    int before = open_fds();
    auto r = recv_fd(p.b.get());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("truncated"), std::string::npos) << r.error().str();
    EXPECT_EQ(open_fds(), before);
}

TEST(FdPassing, PeerGoneIsAnError) {
    Pair p;
    p.a.reset();
    auto r = recv_fd(p.b.get());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("closed"), std::string::npos);
}

TEST(FdPassing, EmptyMessageRefused) {
    Pair p;
    UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    EXPECT_FALSE(send_fd(p.a.get(), f.get(), "").ok());
}

}  // namespace
