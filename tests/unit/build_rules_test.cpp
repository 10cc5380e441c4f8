// Build rules without a build: .dockerignore matching (Docker's pattern rules, exceptions,
// parent directories), wildcard sources, stage splitting and lookup, HEALTHCHECK durations,
// and archive detection by content.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "imagetool/build/archive.hpp"
#include "imagetool/build/copy.hpp"
#include "imagetool/build/dockerignore.hpp"
#include "imagetool/build/instructions.hpp"
#include "imagetool/build/stages.hpp"

using namespace berth;
using namespace berth::image::build;
namespace fs = std::filesystem;

namespace {

IgnoreRules rules(std::string_view text) {
    auto r = IgnoreRules::parse(text);
    EXPECT_TRUE(r.ok()) << r.error().str();
    return r.ok() ? *r : IgnoreRules{};
}

TEST(DockerIgnore, PatternsAsDockerReadsThem) {
    auto r = rules(
        "# a comment\n"
        "  *.log  \n"
        "/build\n"
        "docs/**/*.tmp\n"
        "cache/\n"
        "a/../secret?\n"
        "\n");
    EXPECT_TRUE(r.excluded("x.log"));
    EXPECT_FALSE(r.excluded("sub/x.log"));  // `*` stays in one component
    EXPECT_TRUE(r.excluded("build"));
    EXPECT_TRUE(r.excluded("build/out/a.o"));  // below an excluded directory
    EXPECT_TRUE(r.excluded("docs/a.tmp"));     // `**` is zero or more components
    EXPECT_TRUE(r.excluded("docs/a/b/c.tmp"));
    EXPECT_FALSE(r.excluded("docs/a/b/c.txt"));
    EXPECT_TRUE(r.excluded("cache/x"));
    EXPECT_TRUE(r.excluded("secret1"));  // cleaned: a/../secret?
    EXPECT_FALSE(r.excluded("secret12"));
    EXPECT_FALSE(r.excluded("# a comment"));
    EXPECT_FALSE(r.excluded("."));
    EXPECT_FALSE(r.excluded(""));
    EXPECT_FALSE(r.has_exceptions());
}

TEST(DockerIgnore, LastMatchWinsAndExceptionsReachBelowExcludedDirectories) {
    auto r = rules("*\n!keep\n!sub/keep.txt\nkeep/no\n");
    EXPECT_TRUE(r.has_exceptions());
    EXPECT_TRUE(r.excluded("Dockerfile"));
    EXPECT_FALSE(r.excluded("keep"));
    EXPECT_FALSE(r.excluded("keep/yes"));
    EXPECT_TRUE(r.excluded("keep/no"));
    EXPECT_TRUE(r.excluded("sub"));
    EXPECT_FALSE(r.excluded("sub/keep.txt"));
    EXPECT_TRUE(r.excluded("sub/other.txt"));
    EXPECT_FALSE(IgnoreRules::parse("!\n").ok());
}

TEST(DockerIgnore, ComponentMatchIsFilepathMatch) {
    EXPECT_TRUE(match_component("*", ".hidden"));  // Go's Match has no dot rule
    EXPECT_TRUE(match_component("a?c", "abc"));
    EXPECT_TRUE(match_component("[a-c]x", "bx"));
    EXPECT_FALSE(match_component("[^a-c]x", "bx"));
    EXPECT_TRUE(match_component("\\*", "*"));
    EXPECT_FALSE(match_component("\\*", "a"));
    EXPECT_TRUE(has_wildcard("a/*.txt"));
    EXPECT_FALSE(has_wildcard("a/b.txt"));
}

class Wildcards : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("berth-wild-" + std::to_string(getpid()));
        fs::create_directories(dir_ / "d1/x");
        fs::create_directories(dir_ / "d2");
        for (const char* f : {"a.txt", "b.txt", "c.md", "d1/x/1.txt", "d2/2.txt", "d1/3.txt"})
            std::ofstream(dir_ / f) << f;
        fd_ = open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    void TearDown() override {
        close(fd_);
        fs::remove_all(dir_);
    }
    std::vector<std::string> expand(const std::string& p, const IgnoreRules* ig = nullptr) {
        auto r = expand_source(fd_, p, false, ig);
        EXPECT_TRUE(r.ok()) << r.error().str();
        return r.ok() ? *r : std::vector<std::string>{};
    }
    fs::path dir_;
    int fd_ = -1;
};

TEST_F(Wildcards, MatchPerComponentSortedAndFiltered) {
    using V = std::vector<std::string>;
    EXPECT_EQ(expand("*.txt"), (V{"a.txt", "b.txt"}));
    EXPECT_EQ(expand("d*/*.txt"), (V{"d1/3.txt", "d2/2.txt"}));
    EXPECT_EQ(expand("d1/*/?.txt"), (V{"d1/x/1.txt"}));
    EXPECT_EQ(expand("./[ab].txt"), (V{"a.txt", "b.txt"}));
    EXPECT_TRUE(expand("*.none").empty());
    auto ig = rules("b.txt\n");
    EXPECT_EQ(expand("*.txt", &ig), (V{"a.txt"}));
    EXPECT_FALSE(expand_source(fd_, "../*", false, nullptr).ok());
}

TEST(Stages, SplitNamesAndLookup) {
    auto df = parse_dockerfile(
                  "ARG B=base\nFROM $B AS Build\nRUN x\nFROM scratch\nCOPY --from=build a b\n"
                  "FROM build as final\n",
                  "Dockerfile")
                  .value();
    std::map<std::string, std::string> meta = {{"B", "img:1"}};
    auto st = split_stages(df, lookup_in(meta));
    ASSERT_TRUE(st.ok()) << st.error().str();
    ASSERT_EQ(st->size(), 3u);
    EXPECT_EQ((*st)[0].base, "img:1");
    EXPECT_EQ((*st)[0].name, "build");
    EXPECT_EQ((*st)[0].from, 1u);
    EXPECT_EQ((*st)[0].end, 3u);
    EXPECT_EQ((*st)[1].name, "");
    EXPECT_EQ((*st)[2].base, "build");
    EXPECT_EQ(find_stage(*st, "BUILD", 3), std::optional<size_t>(0));
    EXPECT_EQ(find_stage(*st, "1", 3), std::optional<size_t>(1));
    EXPECT_EQ(find_stage(*st, "1", 1), std::nullopt);  // only earlier stages
    EXPECT_EQ(find_stage(*st, "final", 2), std::nullopt);
    EXPECT_EQ(stage_list(*st), "build, 1, final");

    auto dup = parse_dockerfile("FROM a AS x\nFROM b AS X\n", "Dockerfile").value();
    auto e = split_stages(dup, lookup_in(meta));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().str().find("Dockerfile:2: FROM: stage name 'x' is already used at "
                                   "Dockerfile:1"),
              std::string::npos)
        << e.error().str();
    auto bad = parse_dockerfile("FROM a AS 1x\n", "Dockerfile").value();
    EXPECT_FALSE(split_stages(bad, lookup_in(meta)).ok());
    auto words = parse_dockerfile("FROM a b\n", "Dockerfile").value();
    EXPECT_FALSE(split_stages(words, lookup_in(meta)).ok());
}

TEST(Healthcheck, GoDurations) {
    EXPECT_EQ(parse_duration("0").value(), 0);
    EXPECT_EQ(parse_duration("30s").value(), 30'000'000'000);
    EXPECT_EQ(parse_duration("1m30s").value(), 90'000'000'000);
    EXPECT_EQ(parse_duration("1.5h").value(), 5'400'000'000'000);
    EXPECT_EQ(parse_duration("250ms").value(), 250'000'000);
    EXPECT_EQ(parse_duration("10us").value(), 10'000);
    EXPECT_FALSE(parse_duration("").ok());
    EXPECT_FALSE(parse_duration("5").ok());
    EXPECT_FALSE(parse_duration("5d").ok());
    EXPECT_FALSE(parse_duration("s").ok());
}

TEST(Healthcheck, StoredAsDockerStoresIt) {
    spec::ImageConfig cfg;
    bool cmd = false;
    auto ins =
        parse_instruction("HEALTHCHECK --interval=5s --retries=3 CMD wget -q x", "D", 1).value();
    ASSERT_TRUE(apply_config(cfg, ins, lookup_in({}), '\\', cmd).ok());
    EXPECT_EQ(cfg.config->healthcheck->dump(),
              R"({"Interval":5000000000,"Retries":3,"Test":["CMD-SHELL","wget -q x"]})");
    ins = parse_instruction(R"(HEALTHCHECK --timeout=1s CMD ["/bin/true", "a"])", "D", 1).value();
    ASSERT_TRUE(apply_config(cfg, ins, lookup_in({}), '\\', cmd).ok());
    EXPECT_EQ(cfg.config->healthcheck->dump(),
              R"({"Test":["CMD","/bin/true","a"],"Timeout":1000000000})");
    ins = parse_instruction("HEALTHCHECK NONE", "D", 1).value();
    ASSERT_TRUE(apply_config(cfg, ins, lookup_in({}), '\\', cmd).ok());
    EXPECT_EQ(cfg.config->healthcheck->dump(), R"({"Test":["NONE"]})");
    ins = parse_instruction("HEALTHCHECK --interval=10us CMD x", "D", 1).value();
    auto st = apply_config(cfg, ins, lookup_in({}), '\\', cmd);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().str(), "--interval: cannot be less than 1ms");
    ins = parse_instruction("ONBUILD RUN echo $X  >/y", "D", 1).value();
    ASSERT_TRUE(apply_config(cfg, ins, lookup_in({}), '\\', cmd).ok());
    EXPECT_EQ(cfg.config->on_build->at(0), "RUN echo $X  >/y");
    EXPECT_FALSE(parse_instruction("ONBUILD FROM x", "D", 1).ok());
}

TEST(Archive, DetectedByContentNotName) {
    auto dir = fs::temp_directory_path() / ("berth-arch-" + std::to_string(getpid()));
    fs::create_directories(dir / "in");
    std::ofstream(dir / "in/f") << "x";
    std::ofstream(dir / "plain.tar") << "not a tar at all";
    std::string cmd = "tar -C " + (dir / "in").string() + " -cf " + (dir / "a.bin").string() +
                      " f && gzip -c " + (dir / "a.bin").string() + " >" + (dir / "a.gz").string() +
                      " && gzip -c " + (dir / "plain.tar").string() + " >" +
                      (dir / "p.gz").string();
    ASSERT_EQ(system(cmd.c_str()), 0);
    auto kind = [&](const char* n) {
        int fd = open((dir / n).c_str(), O_RDONLY | O_CLOEXEC);
        auto k = archive_kind(fd);
        close(fd);
        return k.ok() ? *k : ArchiveKind::xz;
    };
    EXPECT_EQ(kind("a.bin"), ArchiveKind::tar);
    EXPECT_EQ(kind("a.gz"), ArchiveKind::gzip);
    EXPECT_EQ(kind("plain.tar"), ArchiveKind::none);
    EXPECT_EQ(kind("p.gz"), ArchiveKind::none);  // gzip, but no tar inside
    fs::remove_all(dir);
}

}  // namespace
