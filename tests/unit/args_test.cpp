// Args: runc's Go-flag habits.
#include <gtest/gtest.h>

#include "base/args.hpp"

using namespace berth;

namespace {
Args make() {
    Args a;
    a.option("bundle,b", "DIR", "bundle", ".")
        .flag("detach,d", "detach")
        .option("env,e", "K=V", "env");
    return a;
}
}  // namespace

TEST(Args, OneOrTwoDashesAndEquals) {
    auto a = make();
    ASSERT_TRUE(a.parse({"-bundle", "/x", "--detach", "id"}).ok());
    EXPECT_EQ(a.get("bundle"), "/x");
    EXPECT_TRUE(a.get_bool("d"));
    EXPECT_EQ(a.positionals(), std::vector<std::string>{"id"});
    auto b = make();
    ASSERT_TRUE(b.parse({"--bundle=/y", "-d=false", "id"}).ok());
    EXPECT_EQ(b.get("b"), "/y");
    EXPECT_FALSE(b.get_bool("detach"));
}

TEST(Args, DefaultsRepeatsAndStop) {
    auto a = make();
    ASSERT_TRUE(a.parse({"-e", "A=1", "c1", "-e", "B=2", "sh", "-c"}, true).ok());
    EXPECT_EQ(a.get("bundle"), ".");
    EXPECT_EQ(a.get_all("env"), std::vector<std::string>{"A=1"});
    EXPECT_EQ(a.positionals(), (std::vector<std::string>{"c1", "-e", "B=2", "sh", "-c"}));
}

TEST(Args, Errors) {
    auto a = make();
    auto s = a.parse({"--nope"});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().str(), "flag provided but not defined: -nope");
    auto b = make();
    EXPECT_EQ(b.parse({"--bundle"}).error().str(), "flag needs an argument: -bundle");
    auto c = make();
    EXPECT_FALSE(c.parse({"--detach=maybe"}).ok());
}
