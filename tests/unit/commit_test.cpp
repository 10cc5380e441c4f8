// Commit's pieces without root: the unpacked tree's manifest (escaping, round trip, change
// detection), --change instructions, and layer compressors read back by the decompressors.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file.hpp"
#include "base/unique_fd.hpp"
#include "imagetool/bundle/config_change.hpp"
#include "imagetool/bundle/mtree.hpp"
#include "imagetool/layer/compress.hpp"
#include "imagetool/layer/decompress.hpp"
#include "imagetool/layer/sha256.hpp"

using namespace berth;
using namespace berth::image;
using namespace berth::image::bundle;

namespace {

class Tree : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-commit-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
    }
    void TearDown() override { (void)remove_all(top_); }
    std::string top_;
};

TEST_F(Tree, MtreeRoundTripsOddNamesAndSeesChanges) {
    ASSERT_TRUE(mkdir_p(top_ + "/a dir/sub").ok());
    ASSERT_TRUE(write_file_atomic(top_ + "/a dir/50%\nnew line", "x").ok());
    ASSERT_TRUE(write_file_atomic(top_ + "/plain", "y").ok());
    ASSERT_EQ(symlink("/etc/shadow", (top_ + "/link").c_str()), 0);
    UniqueFd root(open(top_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto text = scan_mtree(root.get());
    ASSERT_TRUE(text.ok()) << text.error().str();
    EXPECT_NE(text->find("a%20dir/50%25%0anew%20line "), std::string::npos) << *text;
    auto m = parse_mtree(*text);
    ASSERT_TRUE(m.ok()) << m.error().str();
    EXPECT_EQ(m->size(), 6u);  // . a dir, sub, the file, plain, link
    ASSERT_TRUE(m->count("a dir/50%\nnew line"));
    EXPECT_TRUE(S_ISLNK(m->at("link").mode));

    struct stat st;
    ASSERT_EQ(lstat((top_ + "/plain").c_str(), &st), 0);
    EXPECT_TRUE(mtree_same(m->at("plain"), mtree_entry(st)));
    // A chmod back to the same mode still moves ctime: recorded as changed.
    usleep(2000);
    ASSERT_EQ(chmod((top_ + "/plain").c_str(), st.st_mode & 07777), 0);
    ASSERT_EQ(lstat((top_ + "/plain").c_str(), &st), 0);
    EXPECT_FALSE(mtree_same(m->at("plain"), mtree_entry(st)));
}

TEST(Mtree, MalformedLinesNameTheLine) {
    auto m = parse_mtree(". 40755 0 0 4096 1.0 1.0 2 3\nbad%zz 100644 0 0 1 1.0 1.0 4 1\n");
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().str().find("line 2"), std::string::npos) << m.error().str();
    EXPECT_FALSE(parse_mtree("x 100644 0 0\n").ok());
    EXPECT_FALSE(parse_mtree("x% 100644 0 0 1 1.0 1.0 4 1\n").ok());
}

TEST(ConfigChange, DockerCommitSubset) {
    spec::ContainerConfig cc;
    cc.env = {"PATH=/bin", "A=1"};
    ASSERT_TRUE(apply_config_change(cc, "CMD [\"/bin/echo\", \"hi\"]").ok());
    EXPECT_EQ(*cc.cmd, (std::vector<std::string>{"/bin/echo", "hi"}));
    ASSERT_TRUE(apply_config_change(cc, "entrypoint /app --flag").ok());
    EXPECT_EQ(*cc.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "/app --flag"}));
    ASSERT_TRUE(apply_config_change(cc, "ENTRYPOINT []").ok());
    EXPECT_FALSE(cc.entrypoint.has_value());
    ASSERT_TRUE(apply_config_change(cc, "ENV A=2 B=\"x y\"").ok());
    ASSERT_TRUE(apply_config_change(cc, "ENV C legacy form").ok());
    EXPECT_EQ(cc.env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=x y", "C=legacy form"}));
    ASSERT_TRUE(apply_config_change(cc, "LABEL a=b c=\"d e\"").ok());
    EXPECT_EQ(cc.labels.at("c"), "d e");
    ASSERT_TRUE(apply_config_change(cc, "EXPOSE 80 53/udp 80/tcp").ok());
    EXPECT_EQ(cc.exposed_ports, (std::vector<std::string>{"80/tcp", "53/udp"}));
    ASSERT_TRUE(apply_config_change(cc, "WORKDIR /srv").ok());
    ASSERT_TRUE(apply_config_change(cc, "USER 1000:1000").ok());
    EXPECT_EQ(cc.working_dir, "/srv");
    EXPECT_EQ(cc.user, "1000:1000");
}

TEST(ConfigChange, BadInstructionsNameTheProblem) {
    spec::ContainerConfig cc;
    auto e = apply_config_change(cc, "RUN rm -rf /");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().str().find("unknown instruction 'RUN'"), std::string::npos);
    EXPECT_FALSE(apply_config_change(cc, "CMD [\"a\", 1]").ok());
    EXPECT_FALSE(apply_config_change(cc, "EXPOSE 99999").ok());
    EXPECT_FALSE(apply_config_change(cc, "EXPOSE 80/icmp").ok());
    EXPECT_FALSE(apply_config_change(cc, "LABEL novalue").ok());
    EXPECT_FALSE(apply_config_change(cc, "USER").ok());
    EXPECT_FALSE(apply_config_change(cc, "").ok());
}

TEST(Compress, EachCompressionReadsBackWithItsDiffId) {
    std::string data;
    for (int i = 0; i < 200000; ++i)
        data += std::to_string(i * 7919 % 1000) + (i % 13 ? " " : "\n");
    for (auto c : {layer::Compression::gzip, layer::Compression::zstd, layer::Compression::none}) {
        std::string out;
        auto comp = layer::make_compressor(c, [&](const void* d, size_t n) {
            out.append(static_cast<const char*>(d), n);
            return ok();
        });
        // Written in uneven pieces.
        for (size_t off = 0; off < data.size(); off += 65537)
            ASSERT_TRUE(
                comp->write(data.data() + off, std::min<size_t>(65537, data.size() - off)).ok());
        auto diff = comp->finish();
        ASSERT_TRUE(diff.ok());
        EXPECT_EQ(*diff, layer::sha256_digest(data));
        auto s = layer::open_layer_stream(layer::memory_stream(out), layer::layer_media_type(c), 0);
        ASSERT_TRUE(s.ok()) << s.error().str();
        std::string back(data.size() + 10, '\0');
        size_t got = 0;
        for (;;) {
            auto n = (*s)->read(back.data() + got, back.size() - got);
            ASSERT_TRUE(n.ok()) << n.error().str();
            if (*n == 0) break;
            got += *n;
        }
        back.resize(got);
        EXPECT_EQ(back, data) << layer::compression_name(c);
        if (c != layer::Compression::none) {
            EXPECT_LT(out.size(), data.size() / 2);
        }
    }
    EXPECT_FALSE(layer::parse_compression("lz4").ok());
}

}  // namespace
