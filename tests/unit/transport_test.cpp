// Transport names and copy between layouts, against temporary directories.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/file.hpp"
#include "imagetool/transport/transport.hpp"

using namespace berth::image;
using namespace berth::image::transport;
using namespace berth::spec;
using berth::Result;

TEST(TransportName, ParsesSkopeoNames) {
    auto r = parse_location("docker://localhost:5000/app:1");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->kind, Kind::registry);
    EXPECT_EQ(r->reference.str(), "localhost:5000/app:1");

    r = parse_location("oci:/srv/layout:v1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Kind::layout);
    EXPECT_EQ(r->path, "/srv/layout");
    EXPECT_EQ(r->ref, "v1");

    r = parse_location("oci-archive:a.tar");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Kind::oci_archive);
    EXPECT_EQ(r->path, "a.tar");
    EXPECT_EQ(r->ref, "");

    // docker-archive's reference keeps its own colons.
    r = parse_location("docker-archive:/tmp/d.tar:localhost:5000/app:2");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Kind::docker_archive);
    EXPECT_EQ(r->path, "/tmp/d.tar");
    EXPECT_EQ(r->ref, "localhost:5000/app:2");

    r = parse_location("berth:localhost/app:1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Kind::store);
    EXPECT_EQ(r->ref, "localhost/app:1");

    // A plain name is the store, even with a registry port in it.
    r = parse_location("localhost:5000/app:1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Kind::store);
    EXPECT_EQ(r->ref, "localhost:5000/app:1");
}

TEST(TransportName, RefusesBadNames) {
    for (const char* bad :
         {"", "oci:", "oci-archive::x", "berth:", "dir:/x", "containers-storage:alpine",
          "docker://localhost/Bad:1", "docker:alpine"}) {
        auto r = parse_location(bad);
        EXPECT_FALSE(r) << bad;
    }
}

class CopyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-copy-XXXXXX";
        dir_ = mkdtemp(tmpl);
        auto s = Store::open(dir_ + "/store");
        ASSERT_TRUE(s) << s.error().message();
        store_.emplace(std::move(s.value()));
        auto layer = store_->put_blob("layer bytes", kMediaTypeOciLayer);
        ASSERT_TRUE(layer);
        layer_ = *layer;
        ImageConfig c;
        c.architecture = host_platform().architecture;
        c.os = "linux";
        c.rootfs.diff_ids.push_back(layer_.digest);
        auto m = store_->put_image("localhost/app:1", c, {layer_});
        ASSERT_TRUE(m) << m.error().message();
        manifest_ = *m;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    Result<CopyResult> run(const std::string& src, const std::string& dst) {
        auto s = TRY(parse_location(src));
        auto d = TRY(parse_location(dst));
        return copy_image(*store_, s, d, CopyOptions{});
    }
    std::string dir_;
    std::optional<Store> store_;
    Descriptor layer_, manifest_;
};

TEST_F(CopyTest, StoreToLayoutToArchiveKeepsTheDigest) {
    auto r = run("berth:localhost/app:1", "oci:" + dir_ + "/l1:app");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->top.digest, manifest_.digest);
    r = run("oci:" + dir_ + "/l1:app", "oci-archive:" + dir_ + "/a.tar:x");
    ASSERT_TRUE(r) << r.error().message();
    r = run("oci-archive:" + dir_ + "/a.tar", "berth:localhost/back:2");
    ASSERT_TRUE(r) << r.error().message();
    auto d = store_->lookup("localhost/back:2");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->digest, manifest_.digest);
    // Staging directories are removed.
    EXPECT_TRUE(std::filesystem::is_empty(store_->tmp_dir()));
}

TEST_F(CopyTest, WrongBlobLeavesNoDestination) {
    ASSERT_TRUE(run("berth:localhost/app:1", "oci:" + dir_ + "/l1:app"));
    std::string blob = dir_ + "/l1/blobs/sha256/" + layer_.digest.hex;
    ASSERT_TRUE(berth::write_file_atomic(blob, "layer bytez"));
    auto r = run("oci:" + dir_ + "/l1:app", "oci:" + dir_ + "/l2:app");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("blob " + layer_.digest.str()), std::string::npos)
        << r.error().message();
    EXPECT_FALSE(berth::path_exists(dir_ + "/l2"));
    r = run("oci:" + dir_ + "/l1:app", "berth:localhost/bad:1");
    ASSERT_FALSE(r);
    EXPECT_FALSE(store_->lookup("localhost/bad:1"));
    EXPECT_TRUE(std::filesystem::is_empty(store_->tmp_dir()));
}

TEST_F(CopyTest, NonLayoutDirectoryIsRefused) {
    ASSERT_TRUE(berth::mkdir_p(dir_ + "/busy"));
    ASSERT_TRUE(berth::write_file_atomic(dir_ + "/busy/mine", "x"));
    auto r = run("berth:localhost/app:1", "oci:" + dir_ + "/busy");
    ASSERT_FALSE(r);
    EXPECT_TRUE(berth::path_exists(dir_ + "/busy/mine"));
    EXPECT_FALSE(berth::path_exists(dir_ + "/busy/index.json"));
}
