// The build cache: what changes a COPY's source digest (content, mode, names, link targets)
// and what does not (mtime, readdir order); keys ignore the image's own timestamp; entries
// round-trip, and a truncated entry or a missing blob is an error, not a hit; gc roots and
// clearing. Runs as the calling user.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/file.hpp"
#include "imagetool/build/cache.hpp"

using namespace berth;
using namespace berth::image;
using namespace berth::image::build;
namespace fs = std::filesystem;

namespace {

class BuildCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cache-test.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directories(dir_ + "/ctx/sub/inner");
        std::ofstream(dir_ + "/ctx/a") << "a";
        std::ofstream(dir_ + "/ctx/sub/inner/b") << "bb";
        fs::create_symlink("../a", dir_ + "/ctx/sub/rel");
        ctx_ = open((dir_ + "/ctx").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    void TearDown() override {
        close(ctx_);
        fs::remove_all(dir_);
    }
    std::string digest(std::vector<std::string> src) {
        CopySpec s;
        s.sources = std::move(src);
        s.dest = "/x/";
        auto d = copy_sources_digest(ctx_, s);
        EXPECT_TRUE(d) << d.error().str();
        return d ? *d : "";
    }
    std::string dir_;
    int ctx_ = -1;
};

TEST_F(BuildCacheTest, SourceDigestFollowsContentModeNamesAndLinks) {
    std::string d0 = digest({"a", "sub"});
    EXPECT_EQ(digest({"a", "sub"}), d0);
    EXPECT_NE(digest({"sub", "a"}), d0);
    EXPECT_NE(digest({"a"}), d0);

    // mtime alone: the same digest (Docker's cache ignores it too).
    struct timespec ts[2] = {{1000, 0}, {1000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir_ + "/ctx/sub/inner/b").c_str(), ts, 0), 0);
    EXPECT_EQ(digest({"a", "sub"}), d0);

    std::ofstream(dir_ + "/ctx/sub/inner/b") << "bc";  // same size, other content
    std::string d1 = digest({"a", "sub"});
    EXPECT_NE(d1, d0);
    ASSERT_EQ(chmod((dir_ + "/ctx/sub/inner/b").c_str(), 0600), 0);
    std::string d2 = digest({"a", "sub"});
    EXPECT_NE(d2, d1);
    fs::rename(dir_ + "/ctx/sub/inner/b", dir_ + "/ctx/sub/inner/c");
    std::string d3 = digest({"a", "sub"});
    EXPECT_NE(d3, d2);
    fs::remove(dir_ + "/ctx/sub/rel");
    fs::create_symlink("../b", dir_ + "/ctx/sub/rel");
    EXPECT_NE(digest({"a", "sub"}), d3);
}

TEST_F(BuildCacheTest, SourceDigestFailsWhereCopyWould) {
    CopySpec s;
    s.dest = "/x";
    s.sources = {"missing"};
    EXPECT_FALSE(copy_sources_digest(ctx_, s));
    s.sources = {"../etc/passwd"};
    EXPECT_FALSE(copy_sources_digest(ctx_, s));
    fs::create_symlink("/etc/passwd", dir_ + "/ctx/out");
    s.sources = {"out"};
    EXPECT_FALSE(copy_sources_digest(ctx_, s));
}

// Only what COPY copies is hashed: files .dockerignore leaves out change nothing, a `!`
// exception below an excluded directory does; an excluded source fails, as copy_into does.
TEST_F(BuildCacheTest, SourceDigestHonoursDockerignore) {
    auto rules = IgnoreRules::parse("sub/inner\n*.log\n!sub/inner/keep\n");
    ASSERT_TRUE(rules) << rules.error().str();
    CopySpec s;
    s.dest = "/x/";
    s.sources = {"."};
    s.ignore = &*rules;
    std::string d0 = copy_sources_digest(ctx_, s).value();
    std::ofstream(dir_ + "/ctx/sub/inner/b") << "changed";
    std::ofstream(dir_ + "/ctx/x.log") << "log";
    EXPECT_EQ(copy_sources_digest(ctx_, s).value(), d0);
    std::ofstream(dir_ + "/ctx/sub/inner/keep") << "k";
    EXPECT_NE(copy_sources_digest(ctx_, s).value(), d0);
    s.sources = {"x.log"};
    EXPECT_FALSE(copy_sources_digest(ctx_, s));
}

TEST_F(BuildCacheTest, MemoSkipsUnchangedFilesOnly) {
    CopySpec s;
    s.sources = {"sub"};
    s.dest = "/x/";
    auto plain = copy_sources_digest(ctx_, s);
    ASSERT_TRUE(plain);
    std::string memo = dir_ + "/memo";
    // A fresh file is never remembered (it could still change within its timestamp's tick).
    ASSERT_EQ(copy_sources_digest(ctx_, s, memo).value(), *plain);
    // A memo claiming another content for sub/inner/b with its current times is believed:
    // the file is not read...
    struct stat st;
    ASSERT_EQ(lstat((dir_ + "/ctx/sub/inner/b").c_str(), &st), 0);
    char line[512];
    std::snprintf(line, sizeof line, "%llu %llu %lld %lld %ld %lld %ld %s sub/inner/b\n",
                  (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                  (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                  (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, std::string(64, '0').c_str());
    ASSERT_TRUE(write_file_atomic(memo, std::string("berth-build-memo-v1\n") + line));
    EXPECT_NE(copy_sources_digest(ctx_, s, memo).value(), *plain);
    // ...until its ctime moves (any write or chmod): then it is read again. (The wait puts the
    // chmod in a later tick of the coarse clock file times come from.)
    usleep(20000);
    ASSERT_EQ(chmod((dir_ + "/ctx/sub/inner/b").c_str(), 0600), 0);
    ASSERT_EQ(chmod((dir_ + "/ctx/sub/inner/b").c_str(), st.st_mode & 07777), 0);
    EXPECT_EQ(copy_sources_digest(ctx_, s, memo).value(), *plain);
    // A damaged memo is no memo.
    ASSERT_TRUE(write_file_atomic(memo, "berth-build-memo-v1\n1 2 x\n"));
    EXPECT_EQ(copy_sources_digest(ctx_, s, memo).value(), *plain);
}

TEST(BuildCacheKey, IgnoresImageCreatedButNotHistory) {
    spec::ImageConfig c;
    c.config = spec::ContainerConfig{};
    c.history.push_back({"2020-01-01T00:00:00Z", "FROM x", "", "", false});
    std::string k = cache_key(c, "RUN a");
    c.created = "2021-01-01T00:00:00Z";
    EXPECT_EQ(cache_key(c, "RUN a"), k);
    EXPECT_NE(cache_key(c, "RUN b"), k);
    c.history[0].created = "2020-01-01T00:00:01Z";
    EXPECT_NE(cache_key(c, "RUN a"), k);
}

TEST_F(BuildCacheTest, EntriesRoundTripAndBadOnesAreErrors) {
    auto store = Store::open(dir_ + "/store");
    ASSERT_TRUE(store) << store.error().str();
    auto blob = store->put_blob("layer bytes", spec::kMediaTypeOciLayer);
    ASSERT_TRUE(blob);
    std::string key(64, 'a'), other(64, 'b');
    EXPECT_FALSE(cache_lookup(*store, key).value());  // no entry: a miss, not an error

    CacheEntry e{{"2020-01-01T00:00:00Z", "RUN x", "", "", false}, *blob, sha256_of("tar")};
    ASSERT_TRUE(cache_record(*store, key, e));
    ASSERT_TRUE(cache_record(*store, other, {{"t", "ENV a=b", "", "", true}, {}, {}}));
    auto got = cache_lookup(*store, key);
    ASSERT_TRUE(got) << got.error().str();
    ASSERT_TRUE(*got);
    EXPECT_EQ((*got)->history.created_by, "RUN x");
    EXPECT_EQ((*got)->layer->digest, blob->digest);
    EXPECT_EQ((*got)->diff_id->str(), sha256_of("tar").str());

    std::set<spec::Digest> live;
    ASSERT_TRUE(cache_live_blobs(*store, live));
    EXPECT_EQ(live, std::set<spec::Digest>{blob->digest});
    auto g = store->gc([&](std::set<spec::Digest>& l) { return cache_live_blobs(*store, l); });
    ASSERT_TRUE(g);
    EXPECT_TRUE(store->has_blob(blob->digest));

    // Truncated: an error (the builder warns and runs the step).
    std::string path = build_cache_dir(*store) + "/" + key + ".json";
    auto text = read_file(path);
    ASSERT_TRUE(text);
    ASSERT_EQ(truncate(path.c_str(), off_t(text->size() / 2)), 0);
    EXPECT_FALSE(cache_lookup(*store, key));
    // Whole again, but its blob gone.
    ASSERT_TRUE(cache_record(*store, key, e));
    ASSERT_TRUE(cache_lookup(*store, key));
    ASSERT_EQ(unlink(store->blob_path(blob->digest).c_str()), 0);
    EXPECT_FALSE(cache_lookup(*store, key));

    auto n = clear_build_cache(*store);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2u);
    EXPECT_FALSE(cache_lookup(*store, other).value());
}

}  // namespace
