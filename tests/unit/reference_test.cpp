// Reference parsing and Docker-style normalisation.
#include "imagetool/reference.hpp"

#include <gtest/gtest.h>

using berth::image::Reference;

namespace {

std::string norm(const std::string& s) {
    auto r = Reference::parse(s);
    return r ? r->str() : "ERROR: " + r.error().message();
}

}  // namespace

TEST(Reference, NormalisesLikeDocker) {
    EXPECT_EQ(norm("alpine"), "docker.io/library/alpine:latest");
    EXPECT_EQ(norm("alpine:3.18"), "docker.io/library/alpine:3.18");
    EXPECT_EQ(norm("user/app"), "docker.io/user/app:latest");
    EXPECT_EQ(norm("docker.io/alpine"), "docker.io/library/alpine:latest");
    EXPECT_EQ(norm("index.docker.io/library/alpine:1"), "docker.io/library/alpine:1");
    EXPECT_EQ(norm("localhost/x"), "localhost/x:latest");
    EXPECT_EQ(norm("localhost:5000/a/b/c:v1.0-rc_2"), "localhost:5000/a/b/c:v1.0-rc_2");
    EXPECT_EQ(norm("quay.io/coreos/etcd"), "quay.io/coreos/etcd:latest");
    EXPECT_EQ(norm("127.0.0.1:5000/x:1"), "127.0.0.1:5000/x:1");
    EXPECT_EQ(norm("[::1]:5000/x"), "[::1]:5000/x:latest");
    EXPECT_EQ(norm("Registry/x"), "Registry/x:latest");  // upper case first component: a host
}

TEST(Reference, DigestPinned) {
    std::string d = "sha256:" + std::string(64, 'a');
    auto r = Reference::parse("alpine@" + d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tag, "");
    EXPECT_EQ(r->str(), "docker.io/library/alpine@" + d);
    EXPECT_EQ(r->api_reference(), d);
    auto t = Reference::parse("localhost:5000/x:1@" + d);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->tag, "1");
    EXPECT_EQ(t->api_reference(), d);
}

TEST(Reference, ApiHost) {
    EXPECT_EQ(Reference::parse("alpine")->api_host(), "registry-1.docker.io");
    EXPECT_EQ(Reference::parse("localhost:5000/x")->api_host(), "localhost:5000");
}

TEST(Reference, RefusesBadInput) {
    for (const char* bad : {"", "UPPER", "docker.io/Library/x", "x:", "x:-tag", "x@sha256:abc",
                            "x@md5:"
                            "0123456789abcdef0123456789abcdef",
                            "a//b", "a/b/", "/a", "a..b", "a__-b", "host:99999/x",
                            "x:"
                            "tag with space",
                            "-x", "x-", ":tag"})
        EXPECT_FALSE(Reference::parse(bad)) << bad;
    std::string longtag(129, 'a');
    EXPECT_FALSE(Reference::parse("x:" + longtag));
    EXPECT_FALSE(Reference::parse(std::string(64, 'a')));  // looks like an image ID
    auto e = Reference::parse("x:bad!tag");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("invalid tag 'bad!tag'"), std::string::npos);
}

TEST(Reference, RegistryNames) {
    EXPECT_EQ(berth::image::normalize_registry("https://index.docker.io/v1/").value(), "docker.io");
    EXPECT_EQ(berth::image::normalize_registry("localhost:5000").value(), "localhost:5000");
    EXPECT_EQ(berth::image::normalize_registry("quay.io/ns/repo").value(), "quay.io");
    EXPECT_FALSE(berth::image::normalize_registry("bad host"));
    EXPECT_TRUE(berth::image::is_loopback_registry("localhost:5000"));
    EXPECT_TRUE(berth::image::is_loopback_registry("127.0.0.1:5000"));
    EXPECT_TRUE(berth::image::is_loopback_registry("[::1]:5000"));
    EXPECT_FALSE(berth::image::is_loopback_registry("quay.io"));
}
