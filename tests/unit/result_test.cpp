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
