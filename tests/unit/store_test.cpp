// The image store against a temporary directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/file.hpp"
#include "imagetool/store/store.hpp"

using namespace berth::image;
using namespace berth::spec;

class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-store-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    Store open() {
        auto s = Store::open(dir_ + "/s");
        EXPECT_TRUE(s) << s.error().message();
        return std::move(s.value());
    }
    ImageConfig config(size_t layers) {
        ImageConfig c;
        c.architecture = host_platform().architecture;
        c.os = "linux";
        c.config = ContainerConfig{};
        c.config->cmd = std::vector<std::string>{"/bin/sh"};
        for (size_t i = 0; i < layers; i++)
            c.rootfs.diff_ids.push_back(sha256_of("diff" + std::to_string(i)));
        return c;
    }
    std::string dir_;
};

TEST_F(StoreTest, CreatesLayout) {
    auto s = open();
    EXPECT_TRUE(berth::path_exists(dir_ + "/s/oci-layout"));
    EXPECT_TRUE(berth::path_exists(dir_ + "/s/index.json"));
    EXPECT_TRUE(berth::path_exists(dir_ + "/s/blobs/sha256"));
    EXPECT_TRUE(s.list()->empty());
    // A foreign layout version is refused.
    ASSERT_TRUE(berth::write_file_atomic(dir_ + "/s/oci-layout", R"({"imageLayoutVersion":"9"})"));
    EXPECT_FALSE(Store::open(dir_ + "/s"));
}

TEST_F(StoreTest, BlobsAreVerifiedOnRead) {
    auto s = open();
    auto d = s.put_blob("hello", "application/octet-stream");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size, 5);
    EXPECT_TRUE(s.has_blob(d->digest));
    EXPECT_EQ(s.read_blob(*d).value(), "hello");
    // Corrupt the stored bytes: the verifying reader refuses at EOF.
    ASSERT_TRUE(berth::write_file_atomic(s.blob_path(d->digest), "hellx"));
    auto bad = s.read_blob(*d);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("digest"), std::string::npos);
    ASSERT_TRUE(berth::write_file_atomic(s.blob_path(d->digest), "hello!"));
    EXPECT_FALSE(s.read_blob(*d));
    ASSERT_TRUE(berth::write_file_atomic(s.blob_path(d->digest), "hell"));
    auto r = s.open_blob(*d);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->verify_all());
}

TEST_F(StoreTest, WriterChecksExpected) {
    auto s = open();
    Descriptor want{"x", sha256_of("abc"), 3, {}, {}, {}, {}, {}};
    {
        auto w = s.create_blob(want);
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->write("abd"));
        EXPECT_FALSE(w->commit("x"));
    }
    EXPECT_FALSE(s.has_blob(want.digest));
    {
        auto w = s.create_blob(want);
        EXPECT_FALSE(w->write("abcd"));
    }
    {
        auto w = s.create_blob();
        ASSERT_TRUE(w->write("abc"));
        auto d = w->commit("x");
        ASSERT_TRUE(d);
        EXPECT_EQ(d->digest, want.digest);
    }
    // Nothing left behind in tmp/ by the failed writers.
    EXPECT_TRUE(std::filesystem::is_empty(s.tmp_dir()));
}

TEST_F(StoreTest, PutImageResolveTagRemoveGc) {
    auto s = open();
    auto l0 = s.put_blob("layer0", kMediaTypeOciLayer);
    auto l1 = s.put_blob("layer1", kMediaTypeOciLayerGzip);
    ASSERT_TRUE(l0 && l1);
    auto md = s.put_image("localhost/test:1", config(2), {*l0, *l1});
    ASSERT_TRUE(md) << md.error().message();
    auto img = s.load_image("localhost/test:1");
    ASSERT_TRUE(img) << img.error().message();
    EXPECT_EQ(img->layers().size(), 2u);
    EXPECT_EQ(img->manifest_descriptor.digest, md->digest);
    EXPECT_EQ(*img->config.config->cmd, std::vector<std::string>{"/bin/sh"});
    // By digest and by prefix.
    EXPECT_TRUE(s.load_image(md->digest.str()));
    EXPECT_TRUE(s.load_image(md->digest.hex.substr(0, 12)));
    EXPECT_FALSE(s.load_image("localhost/other"));
    // Tag, list, remove.
    auto d = s.lookup("localhost/test:1");
    ASSERT_TRUE(d);
    ASSERT_TRUE(s.set_name("docker.io/library/copy:latest", *d));
    EXPECT_EQ(s.list()->size(), 2u);
    EXPECT_TRUE(s.load_image("copy"));
    ASSERT_FALSE(s.remove_name("localhost/test:1:1"));
    ASSERT_TRUE(s.remove_name("localhost/test:1"));
    auto junk = s.put_blob("unreferenced", "x");
    ASSERT_TRUE(berth::write_file_atomic(s.tmp_dir() + "/partial-sha256-abc", "part"));
    auto g = s.gc();
    ASSERT_TRUE(g);
    EXPECT_EQ(g->blobs_removed, 1u);
    EXPECT_EQ(g->temp_removed, 1u);
    EXPECT_FALSE(s.has_blob(junk->digest));
    EXPECT_TRUE(s.has_blob(l0->digest));
    ASSERT_TRUE(s.remove_name("docker.io/library/copy:latest"));
    g = s.gc();
    EXPECT_EQ(g->blobs_removed, 4u);  // two layers, config, manifest
}

TEST_F(StoreTest, PutImageNeedsLayers) {
    auto s = open();
    Descriptor missing{kMediaTypeOciLayer, sha256_of("nope"), 4, {}, {}, {}, {}, {}};
    auto md = s.put_image("localhost/x:1", config(1), {missing});
    ASSERT_FALSE(md);
    EXPECT_TRUE(s.list()->empty());
}

TEST_F(StoreTest, ResolvesIndexForPlatform) {
    auto s = open();
    auto l0 = s.put_blob("layer0", kMediaTypeOciLayer);
    auto md = s.put_image("localhost/tmp:1", config(1), {*l0});
    ASSERT_TRUE(md);
    Index idx;
    Descriptor other = *md;
    other.platform = Platform{"s390x", "linux", "", {}, "", {}};
    other.digest = sha256_of("missing");
    idx.media_type = kMediaTypeOciIndex;
    idx.manifests = {other, *md};
    auto id = s.put_blob(to_json(idx).dump(), kMediaTypeOciIndex);
    ASSERT_TRUE(s.set_name("localhost/multi:1", *id));
    auto img = s.load_image("localhost/multi:1");
    ASSERT_TRUE(img) << img.error().message();
    EXPECT_EQ(img->manifest_descriptor.digest, md->digest);
    auto s390 = s.resolve("localhost/multi:1", Platform{"s390x", "linux", "", {}, "", {}});
    ASSERT_TRUE(s390);
    EXPECT_EQ(s390->digest, other.digest);
    EXPECT_FALSE(s.resolve("localhost/multi:1", Platform{"riscv64", "linux", "", {}, "", {}}));
}
