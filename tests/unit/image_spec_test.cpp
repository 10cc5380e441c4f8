// Image-spec parsing: what is accepted, and errors that name the JSON path.
#include <gtest/gtest.h>

#include "spec/image.hpp"

using namespace berth::spec;

namespace {
const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

std::string err_of(const berth::Error& e) {
    return e.message();
}

std::string manifest(const std::string& layer_digest) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           kD1 + R"(","size":10},
      "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
           kD2 +
           R"(","size":20},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
           layer_digest + R"(","size":5,"annotations":{"a":"b"}}]})";
}
}  // namespace

TEST(Digest, Validates) {
    EXPECT_TRUE(Digest::parse(kD1));
    EXPECT_TRUE(Digest::parse("sha512:" + std::string(128, 'f')));
    for (std::string bad : std::vector<std::string>{
             "", "sha256", "sha256:", "sha256:" + std::string(63, 'a'),
             "sha256:" + std::string(64, 'A'), "sha256:" + std::string(64, 'g'),
             "sha512:" + std::string(64, 'a'), "md5:" + std::string(32, 'a')})
        EXPECT_FALSE(Digest::parse(bad)) << bad;
}

TEST(Manifest, ParsesAndRoundTrips) {
    auto m = parse_manifest(manifest(kD1));
    ASSERT_TRUE(m) << err_of(m.error());
    EXPECT_EQ(m->layers.size(), 2u);
    EXPECT_EQ(m->layers[1].annotations.at("a"), "b");
    EXPECT_EQ(layer_compression(m->layers[0].media_type), Compression::gzip);
    auto again = parse_manifest(to_json(*m).dump());
    ASSERT_TRUE(again);
    EXPECT_EQ(to_json(*again), to_json(*m));
}

TEST(Manifest, ErrorsNameThePath) {
    auto m = parse_manifest(manifest("sha256:nothex"));
    ASSERT_FALSE(m);
    EXPECT_NE(err_of(m.error()).find("layers[1].digest: invalid digest"), std::string::npos)
        << err_of(m.error());
    auto s = parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kD1 +
                            R"(","size":"10"},"layers":[]})");
    ASSERT_FALSE(s);
    EXPECT_NE(err_of(s.error()).find("config.size: expected integer"), std::string::npos);
    auto v = parse_manifest(R"({"schemaVersion":1})");
    ASSERT_FALSE(v);
    EXPECT_NE(err_of(v.error()).find("schemaVersion"), std::string::npos);
    auto j = parse_manifest("{");
    ASSERT_FALSE(j);
    EXPECT_NE(err_of(j.error()).find("invalid JSON"), std::string::npos);
}

TEST(Classify, KindsAndAmbiguity) {
    EXPECT_EQ(classify_manifest(manifest(kD1), "").value(), ManifestKind::oci_manifest);
    EXPECT_EQ(
        classify_manifest(manifest(kD1), "application/vnd.oci.image.manifest.v1+json").value(),
        ManifestKind::oci_manifest);
    // mediaType disagreeing with Content-Type
    EXPECT_FALSE(classify_manifest(manifest(kD1), kMediaTypeDockerManifest));
    // both manifests and layers
    EXPECT_FALSE(classify_manifest(R"({"schemaVersion":2,"manifests":[],"layers":[]})", ""));
    // index media type with config
    EXPECT_FALSE(classify_manifest(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{}})",
        ""));
    EXPECT_EQ(classify_manifest(R"({"schemaVersion":2,"manifests":[]})", "").value(),
              ManifestKind::oci_index);
    EXPECT_EQ(
        classify_manifest(R"({"schemaVersion":2,"manifests":[]})", kMediaTypeDockerManifestList)
            .value(),
        ManifestKind::docker_list);
    auto s1 = classify_manifest(R"({"schemaVersion":1,"fsLayers":[]})", "");
    ASSERT_FALSE(s1);
    EXPECT_NE(err_of(s1.error()).find("schema 1"), std::string::npos);
}

TEST(ImageConfig, ParsesDockerFields) {
    auto c = parse_image_config(R"({"architecture":"arm64","os":"linux","variant":"v8",
      "config":{"User":"1000:1000","ExposedPorts":{"80/tcp":{}},"Env":["A=1"],"Entrypoint":["/e"],
        "Cmd":null,"Volumes":{"/data":{}},"WorkingDir":"/w","Labels":{"l":"v"},"StopSignal":"SIGINT"},
      "rootfs":{"type":"layers","diff_ids":[")" +
                                kD1 + R"("]},
      "history":[{"created_by":"x","empty_layer":true}]})");
    ASSERT_TRUE(c) << err_of(c.error());
    ASSERT_TRUE(c->config);
    EXPECT_EQ(c->config->user, "1000:1000");
    EXPECT_EQ(c->config->exposed_ports, std::vector<std::string>{"80/tcp"});
    EXPECT_FALSE(c->config->cmd);
    EXPECT_EQ(*c->config->entrypoint, std::vector<std::string>{"/e"});
    EXPECT_EQ(c->config->volumes, std::vector<std::string>{"/data"});
    EXPECT_EQ(c->rootfs.diff_ids.size(), 1u);
    EXPECT_TRUE(c->history[0].empty_layer);
    auto bad = parse_image_config(R"({"architecture":"amd64","os":"linux","config":{"Env":[1]},
      "rootfs":{"type":"layers","diff_ids":[]}})");
    ASSERT_FALSE(bad);
    EXPECT_NE(err_of(bad.error()).find("config.Env[0]: expected string"), std::string::npos);
    auto nofs = parse_image_config(R"({"architecture":"amd64","os":"linux"})");
    ASSERT_FALSE(nofs);
    EXPECT_NE(err_of(nofs.error()).find("rootfs: required"), std::string::npos);
}

TEST(Platform, ParseMatchSelect) {
    auto p = parse_platform("linux/aarch64");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->architecture, "arm64");
    EXPECT_FALSE(parse_platform("linux"));
    EXPECT_FALSE(parse_platform("linux/amd64/v1/x"));
    Platform arm64v8{"arm64", "linux", "", {}, "v8", {}};
    Platform arm64{"arm64", "linux", "", {}, "", {}};
    EXPECT_TRUE(platform_matches(arm64, arm64v8));
    EXPECT_TRUE(platform_matches(arm64v8, arm64));
    Platform armv6{"arm", "linux", "", {}, "v6", {}};
    Platform armv7{"arm", "linux", "", {}, "v7", {}};
    EXPECT_FALSE(platform_matches(armv6, armv7));

    auto idx = parse_index(R"({"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                           kD1 + R"(","size":1,
       "platform":{"architecture":"unknown","os":"unknown"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                           kD2 + R"(","size":1,
       "platform":{"architecture":"amd64","os":"linux"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                           kD1 + R"(","size":1,
       "annotations":{"vnd.docker.reference.type":"attestation-manifest"},
       "platform":{"architecture":"arm64","os":"linux"}}]})");
    ASSERT_TRUE(idx) << err_of(idx.error());
    auto sel = select_platform_manifest(*idx, Platform{"amd64", "linux", "", {}, "", {}});
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->digest.str(), kD2);
    auto none = select_platform_manifest(*idx, arm64);
    ASSERT_FALSE(none);
    EXPECT_NE(err_of(none.error()).find("index has linux/amd64"), std::string::npos)
        << err_of(none.error());
}

TEST(Layout, Version) {
    EXPECT_TRUE(parse_layout(R"({"imageLayoutVersion":"1.0.0"})"));
    EXPECT_FALSE(parse_layout(R"({"imageLayoutVersion":"2.0.0"})"));
    EXPECT_FALSE(parse_layout(R"({})"));
}
