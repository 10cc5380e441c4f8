// Result/Error: context chaining and TRY propagation.
#include <gtest/gtest.h>

#include "base/result.hpp"

using namespace berth;

namespace {
Result<int> half(int v) {
    if (v % 2) return Error::msg("odd value " + std::to_string(v));
    return v / 2;
}
Result<int> quarter(int v) {
    int h = TRY(half(v));
    return TRY_CTX(half(h), "second half");
}
Status fails_sys() {
    return Error::sys(EACCES, "open 'x'");
}
Status chain() {
    TRY_CTX(fails_sys(), "create container 'web'");
    return ok();
}
}  // namespace

TEST(Result, ValueAndError) {
    auto r = quarter(8);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 2);
    auto e = quarter(6);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().str(), "second half: odd value 3");
    EXPECT_EQ(quarter(5).error().str(), "odd value 5");
}

TEST(Result, SysErrorCarriesErrno) {
    auto s = chain();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EACCES);
    EXPECT_EQ(s.error().str(), "create container 'web': open 'x': Permission denied");
}

// Callers branch on the kind, never on the text: it must survive context and TRY.
namespace {
Status missing_container() {
    return error(ErrorKind::not_found, "container does not exist");
}
Status open_for_delete() {
    TRY_CTX(missing_container(), "delete container 'x'");
    return ok();
}
}  // namespace

TEST(ErrorKind, FollowsErrno) {
    EXPECT_EQ(Error::sys(ENOENT, "open").kind(), ErrorKind::not_found);
    EXPECT_EQ(Error::sys(ESRCH, "kill").kind(), ErrorKind::not_found);
    EXPECT_EQ(Error::sys(EEXIST, "mkdir").kind(), ErrorKind::exists);
    EXPECT_EQ(Error::sys(EINVAL, "mount").kind(), ErrorKind::invalid);
    EXPECT_EQ(Error::sys(EPERM, "mount").kind(), ErrorKind::permission);
    EXPECT_EQ(Error::sys(EACCES, "open").kind(), ErrorKind::permission);
    EXPECT_EQ(Error::sys(EBUSY, "umount").kind(), ErrorKind::busy);
    EXPECT_EQ(Error::sys(EIO, "read").kind(), ErrorKind::other);
    EXPECT_EQ(Error::msg("odd").kind(), ErrorKind::other);
    EXPECT_EQ(Error().kind(), ErrorKind::other);
}

TEST(ErrorKind, ExplicitKindHasNoErrno) {
    Error e = error(ErrorKind::wrong_state, "container not running");
    EXPECT_EQ(e.code(), 0);
    EXPECT_TRUE(e.is(ErrorKind::wrong_state));
    EXPECT_EQ(e.str(), "container not running");
    EXPECT_STREQ(kind_name(e.kind()), "wrong_state");
}

TEST(ErrorKind, SurvivesContextAndTry) {
    auto s = open_for_delete();
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(ErrorKind::not_found));
    EXPECT_EQ(s.error().message(), "delete container 'x': container does not exist");
    Error wrapped = Error::sys(EEXIST, "mkdir 'a'").with_context("create container 'a'");
    EXPECT_TRUE(wrapped.is(ErrorKind::exists));
    Result<int> r = Error::sys(EBUSY, "umount");
    r.context("delete");
    EXPECT_TRUE(r.error().is(ErrorKind::busy));
}
