// Registry client pieces that need no network: challenge parsing, URLs, credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "base/file.hpp"
#include "imagetool/registry/auth_challenge.hpp"
#include "imagetool/registry/credentials.hpp"
#include "imagetool/registry/http.hpp"

using namespace berth::image;

TEST(Challenge, DockerBearer) {
    auto r = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].scheme, "bearer");
    EXPECT_EQ((*r)[0].param("realm"), "https://auth.docker.io/token");
    EXPECT_EQ((*r)[0].param("service"), "registry.docker.io");
    EXPECT_EQ((*r)[0].param("scope"), "repository:library/alpine:pull");
}

TEST(Challenge, SeveralChallengesAndOddSpacing) {
    auto r = parse_challenges(
        R"(Newauth realm="apps", type=1,  title="Login to \"apps\"", Basic realm="simple")");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].scheme, "newauth");
    EXPECT_EQ((*r)[0].param("type"), "1");
    EXPECT_EQ((*r)[0].param("title"), "Login to \"apps\"");
    EXPECT_EQ((*r)[1].scheme, "basic");
    EXPECT_EQ((*r)[1].param("realm"), "simple");
}

TEST(Challenge, InsufficientScopeAndCase) {
    auto r = parse_challenges(
        R"(BEARER Realm="https://r/t" , Error="insufficient_scope", scope="repository:a:pull repository:b:pull")");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)[0].scheme, "bearer");
    EXPECT_EQ((*r)[0].param("error"), "insufficient_scope");
    EXPECT_EQ((*r)[0].param("scope"), "repository:a:pull repository:b:pull");
}

TEST(Challenge, Token68AndBare) {
    auto r = parse_challenges("Negotiate abc+/def==, Basic");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].token68, "abc+/def==");
    EXPECT_EQ((*r)[1].scheme, "basic");
    EXPECT_TRUE((*r)[1].params.empty());
}

TEST(Challenge, Token68IsNotAParameter) {
    // "realm=" is a token68 by the grammar (t68chars then '='s), not an empty parameter.
    auto r = parse_challenges("Bearer realm=");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].token68, "realm=");
    EXPECT_TRUE((*r)[0].param("realm").empty());
}

TEST(Challenge, Malformed) {
    for (const char* bad : {"", "Bearer realm=\"unterminated", "Bearer a=1, a=2", "=x",
                            "Bearer realm=\"x\" junk", "Bearer realm=\"x\", b="})
        EXPECT_FALSE(parse_challenges(bad)) << bad;
}

TEST(Url, ParseAndResolve) {
    auto u = Url::parse("https://Host.example:8443/v2/x?y=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "Host.example");
    EXPECT_EQ(u->port, 8443);
    EXPECT_EQ(u->target, "/v2/x?y=1");
    EXPECT_EQ(Url::parse("http://h")->port, 80);
    EXPECT_EQ(Url::parse("https://[::1]:5000/")->host, "::1");
    EXPECT_EQ(u->resolve("/blob")->str(), "https://Host.example:8443/blob");
    EXPECT_EQ(u->resolve("http://cdn/b")->origin(), "http://cdn:80");
    EXPECT_FALSE(Url::parse("ftp://x/"));
    EXPECT_FALSE(Url::parse("https://user@x/"));
    EXPECT_FALSE(Url::parse("https://x:70000/"));
}

TEST(Base64, RoundTrip) {
    for (std::string s : {"", "a", "ab", "abc", "user:pa:ss", "\xff\x00\x10"}) {
        auto d = base64_decode(base64_encode(s));
        ASSERT_TRUE(d);
        EXPECT_EQ(*d, s);
    }
    EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
}

TEST(Base64, EncodesWithPadding) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("a"), "YQ==");
    EXPECT_EQ(base64_encode("ab"), "YWI=");
    EXPECT_EQ(base64_encode("abc"), "YWJj");
    EXPECT_EQ(base64_encode(std::string("\xfb\xff\x00", 3)), "+/8A");
}

TEST(Base64, DecodesValidAndPadded) {
    auto dec = [](std::string_view in) {
        auto r = base64_decode(in);
        return r ? r.value() : std::string("<error: ") + r.error().str() + ">";
    };
    EXPECT_EQ(dec("dXNlcjpwYXNz"), "user:pass");
    EXPECT_EQ(dec("YQ=="), "a");
    EXPECT_EQ(dec("YWI="), "ab");
    EXPECT_EQ(dec("YWJj"), "abc");
    EXPECT_EQ(dec(""), "");
    EXPECT_EQ(dec("+/8A"), std::string("\xfb\xff\x00", 3));
    // Unpadded text, as some tools write auth.json, is the same bytes.
    EXPECT_EQ(dec("YQ"), "a");
    EXPECT_EQ(dec("YWI"), "ab");
}

TEST(Base64, RefusesOtherAlphabetsAndBadLengths) {
    // The URL-safe alphabet is not auth.json's, and neither alone nor mixed is accepted.
    EXPECT_FALSE(base64_decode("-_8A"));
    EXPECT_FALSE(base64_decode("+_8A"));
    EXPECT_FALSE(base64_decode("YW J"));
    EXPECT_FALSE(base64_decode("YWJj\n"));
    EXPECT_FALSE(base64_decode("YW*j"));
    EXPECT_FALSE(base64_decode("Y"));      // one character is no byte
    EXPECT_FALSE(base64_decode("YWJjZ"));  // nor is 4n+1
}

TEST(Base64, RefusesMisplacedPadding) {
    EXPECT_FALSE(base64_decode("=YWJ"));
    EXPECT_FALSE(base64_decode("Y=Jj"));
    EXPECT_FALSE(base64_decode("YQ==YWJj"));
    EXPECT_FALSE(base64_decode("Y==="));
    EXPECT_FALSE(base64_decode("===="));
    EXPECT_FALSE(base64_decode("YQ="));  // padding that does not complete a quantum
    EXPECT_FALSE(base64_decode("YQ==="));
}

class CredsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-creds-XXXXXX";
        dir_ = mkdtemp(tmpl);
        setenv("HOME", dir_.c_str(), 1);
        setenv("XDG_RUNTIME_DIR", dir_.c_str(), 1);
        unsetenv("REGISTRY_AUTH_FILE");
        unsetenv("DOCKER_CONFIG");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(CredsTest, StoreLookupRemove) {
    std::string f = default_authfile("");
    EXPECT_EQ(f, dir_ + "/containers/auth.json");
    ASSERT_TRUE(store_credentials(f, "localhost:5000", {"u", "p:w"}));
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto c = lookup_credentials("localhost:5000", "");
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->has_value());
    EXPECT_EQ((*c)->username, "u");
    EXPECT_EQ((*c)->password, "p:w");
    EXPECT_FALSE(lookup_credentials("other:5000", "")->has_value());
    EXPECT_TRUE(remove_credentials(f, "localhost:5000").value());
    EXPECT_FALSE(remove_credentials(f, "localhost:5000").value());
    EXPECT_FALSE(lookup_credentials("localhost:5000", "")->has_value());
}

TEST_F(CredsTest, DockerConfigAuths) {
    ASSERT_TRUE(berth::mkdir_p(dir_ + "/.docker"));
    ASSERT_TRUE(berth::write_file_atomic(
        dir_ + "/.docker/config.json",
        R"({"auths":{"https://index.docker.io/v1/":{"auth":")" + base64_encode("d:s") + R"("}}})"));
    auto c = lookup_credentials("docker.io", "");
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(c->has_value());
    EXPECT_EQ((*c)->username, "d");
    EXPECT_EQ((*c)->password, "s");
}

TEST_F(CredsTest, BrokenFileNamesIt) {
    std::string f = dir_ + "/bad.json";
    ASSERT_TRUE(berth::write_file_atomic(f, "{not json"));
    auto c = lookup_credentials("x.io", f);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message().find("bad.json"), std::string::npos);
}

TEST(Creds, Parse) {
    EXPECT_EQ(parse_creds("a:b:c")->password, "b:c");
    EXPECT_FALSE(parse_creds(":x"));
}
