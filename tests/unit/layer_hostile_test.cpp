// Hostile layers: every way a tar entry can try to leave the unpack root or exhaust the host.
// Each case asserts the exact refusal, and the fixture checks that the canaries beside the root
// are untouched.
#include <sys/sysmacros.h>

#include "imagetool/layer/tar_reader.hpp"
#include "tests/unit/layer_testutil.hpp"

namespace berth::image::layer::testing {
namespace {

class Hostile : public LayerFixture {};

#define EXPECT_REFUSED(tar, entry, text)                                            \
    do {                                                                            \
        std::string err_ = apply_error(tar);                                        \
        EXPECT_NE(err_.find("layer entry '" entry "'"), std::string::npos) << err_; \
        EXPECT_NE(err_.find(text), std::string::npos) << err_;                      \
    } while (0)

// --- path traversal in entry names -------------------------------------------------------

TEST_F(Hostile, DotDotFile) {
    EXPECT_REFUSED(Tar().file("../canary", "pwned").str(), "../canary", "'..' in the path");
}
TEST_F(Hostile, DotDotInTheMiddle) {
    EXPECT_REFUSED(Tar().dir("a").file("a/../../canary", "x").str(), "a/../../canary", "'..'");
}
TEST_F(Hostile, DotSlashDotDot) {
    EXPECT_REFUSED(Tar().file("./../canary", "x").str(), "./../canary", "'..'");
}
TEST_F(Hostile, DeepDotDot) {
    EXPECT_REFUSED(Tar().file("a/b/c/../../../../../../canary", "x").str(),
                   "a/b/c/../../../../../../canary", "'..'");
}
TEST_F(Hostile, AbsolutePath) {
    std::string name = top_ + "/canary";
    std::string err = apply_error(Tar().file(name, "pwned").str());
    EXPECT_NE(err.find("absolute path"), std::string::npos) << err;
}
TEST_F(Hostile, DotDotDirectory) {
    EXPECT_REFUSED(Tar().dir("../canary_dir/new").str(), "../canary_dir/new/", "'..'");
}

// --- symlinks planted by earlier entries and layers ----------------------------------------

TEST_F(Hostile, RelativeSymlinkThenWriteThrough) {
    EXPECT_REFUSED(Tar().symlink("esc", "..").file("esc/canary", "pwned").str(), "esc/canary",
                   "leads out of the root through a symlink");
}
TEST_F(Hostile, AbsoluteSymlinkThenWriteThrough) {
    EXPECT_REFUSED(Tar().symlink("esc", top_).file("esc/canary", "pwned").str(), "esc/canary",
                   "leads out of the root");
}
TEST_F(Hostile, SymlinkEscapeAcrossLayers) {
    ASSERT_TRUE(apply(Tar().symlink("esc", "../..").str()));
    EXPECT_REFUSED(Tar().file("esc/canary", "pwned").str(), "esc/canary", "leads out of the root");
}
TEST_F(Hostile, SymlinkChainEscape) {
    EXPECT_REFUSED(
        Tar().dir("d").symlink("d/a", "../b").symlink("b", "../").file("d/a/canary", "x").str(),
        "d/a/canary", "leads out of the root");
}
TEST_F(Hostile, SymlinkToCanaryDirThenMkdir) {
    EXPECT_REFUSED(Tar().symlink("d", top_ + "/canary_dir").dir("d/new").str(), "d/new/",
                   "leads out of the root");
}
TEST_F(Hostile, SymlinkLoop) {
    EXPECT_REFUSED(Tar().symlink("a", "b").symlink("b", "a").file("a/x", "x").str(), "a/x",
                   "Too many levels of symbolic links");
}
TEST_F(Hostile, MagicLinkThroughProc) {
    EXPECT_REFUSED(Tar().symlink("p", "/proc/self/cwd").file("p/canary", "x").str(), "p/canary",
                   "leads out of the root");
}
TEST_F(Hostile, FileReplacesSymlinkToOutsideFile) {
    // The later entry replaces the link; it never writes through it.
    ASSERT_TRUE(apply(Tar().symlink("esc", top_ + "/canary").str()));
    ASSERT_TRUE(apply(Tar().file("esc", "pwned", 0600).str()));
    EXPECT_TRUE(S_ISREG(lst("esc").st_mode));
    EXPECT_EQ(content("esc"), "pwned");
}
TEST_F(Hostile, DirReplacesSymlinkToOutsideDir) {
    ASSERT_TRUE(apply(Tar().symlink("d", top_ + "/canary_dir").str()));
    ASSERT_TRUE(apply(Tar().dir("d", 0777).str()));
    EXPECT_TRUE(S_ISDIR(lst("d").st_mode));
    EXPECT_EQ(lst("d").st_mode & 07777, 0777u);
}
TEST_F(Hostile, SymlinkTargetsKeptVerbatim) {
    ASSERT_TRUE(apply(Tar().symlink("l", "../../../../etc/passwd").symlink("m", top_).str()));
    char buf[256] = {};
    ASSERT_GT(readlink(in_root("l").c_str(), buf, sizeof buf), 0);
    EXPECT_STREQ(buf, "../../../../etc/passwd");
}
TEST_F(Hostile, WriteThroughFileAsDirectory) {
    EXPECT_REFUSED(Tar().file("f", "x").file("f/x", "y").str(), "f/x", "Not a directory");
}

// --- hardlinks --------------------------------------------------------------------------

TEST_F(Hostile, HardlinkDotDot) {
    EXPECT_REFUSED(Tar().hardlink("h", "../canary").str(), "h", "'..'");
}
TEST_F(Hostile, HardlinkAbsolute) {
    EXPECT_REFUSED(Tar().hardlink("h", top_ + "/canary").str(), "h", "absolute path");
}
TEST_F(Hostile, HardlinkThroughSymlink) {
    EXPECT_REFUSED(Tar().symlink("esc", top_).hardlink("h", "esc/canary").str(), "h",
                   "leads out of the root");
}
TEST_F(Hostile, HardlinkThroughSymlinkAcrossLayers) {
    ASSERT_TRUE(apply(Tar().symlink("esc", "../").str()));
    EXPECT_REFUSED(Tar().hardlink("h", "esc/canary").str(), "h", "leads out of the root");
}
TEST_F(Hostile, HardlinkToSymlinkLinksTheLink) {
    ASSERT_TRUE(apply(Tar().symlink("s", top_ + "/canary").hardlink("h", "s").str()));
    EXPECT_TRUE(S_ISLNK(lst("h").st_mode));
    EXPECT_EQ(lst("h").st_ino, lst("s").st_ino);
}
TEST_F(Hostile, HardlinkToDirectory) {
    EXPECT_REFUSED(Tar().dir("d").hardlink("h", "d").str(), "h", "is a directory");
}
TEST_F(Hostile, HardlinkToMissing) {
    EXPECT_REFUSED(Tar().hardlink("h", "nothing").str(), "h", "No such file or directory");
}
TEST_F(Hostile, HardlinkToRoot) {
    EXPECT_REFUSED(Tar().hardlink("h", "./").str(), "h", "hardlink to the root");
}

// --- whiteouts --------------------------------------------------------------------------

TEST_F(Hostile, WhiteoutDotDot) {
    EXPECT_REFUSED(Tar().file("../.wh.canary", "").str(), "../.wh.canary", "'..'");
}
TEST_F(Hostile, WhiteoutThroughSymlink) {
    ASSERT_TRUE(apply(Tar().symlink("esc", top_).str()));
    EXPECT_REFUSED(Tar().file("esc/.wh.canary", "").str(), "esc/.wh.canary",
                   "leads out of the root");
}
TEST_F(Hostile, OpaqueOnSymlinkToOutside) {
    // The marker's directory resolves like any entry's parent (docs/layers.md): a link out
    // of the root is refused, so nothing outside is cleared.
    ASSERT_TRUE(apply(Tar().symlink("esc", top_ + "/canary_dir").str()));
    EXPECT_REFUSED(Tar().file("esc/.wh..wh..opq", "").str(), "esc/.wh..wh..opq",
                   "leads out of the root");
    EXPECT_TRUE(S_ISLNK(lst("esc").st_mode));
}
TEST_F(Hostile, OpaqueThroughSymlinkParent) {
    ASSERT_TRUE(apply(Tar().symlink("esc", top_).str()));
    EXPECT_REFUSED(Tar().file("esc/canary_dir/.wh..wh..opq", "").str(),
                   "esc/canary_dir/.wh..wh..opq", "leads out of the root");
}
TEST_F(Hostile, WhiteoutAlone) {
    EXPECT_REFUSED(Tar().file(".wh.", "").str(), ".wh.", "names no entry");
}
TEST_F(Hostile, WhiteoutOfDot) {
    EXPECT_REFUSED(Tar().dir("d").file("d/.wh..", "").str(), "d/.wh..", "outside its directory");
}
TEST_F(Hostile, WhiteoutOfDotDot) {
    EXPECT_REFUSED(Tar().dir("d").file("d/.wh...", "").str(), "d/.wh...", "outside its directory");
}
TEST_F(Hostile, OpaqueAtRootClearsOnlyLowerInsideRoot) {
    ASSERT_TRUE(apply(Tar().file("old", "1").dir("olddir").file("olddir/x", "1").str()));
    ASSERT_TRUE(apply(Tar().file("new", "2").file(".wh..wh..opq", "").file("later", "3").str()));
    EXPECT_FALSE(exists("old"));
    EXPECT_FALSE(exists("olddir"));
    EXPECT_EQ(content("new"), "2");
    EXPECT_EQ(content("later"), "3");
    struct stat st;
    EXPECT_EQ(stat(root_.c_str(), &st), 0);
}

// --- the root entry (CVE-2021-29136) ----------------------------------------------------

TEST_F(Hostile, RootEntryIsSymlink) {
    EXPECT_REFUSED(Tar().symlink("./", top_).file("canary", "pwned").str(), "./", "CVE-2021-29136");
}
TEST_F(Hostile, RootEntryDotIsSymlink) {
    EXPECT_REFUSED(Tar().symlink(".", "..").str(), ".", "CVE-2021-29136");
}
TEST_F(Hostile, RootEntrySlash) {
    std::string err = apply_error(Tar().symlink("/", top_).str());
    EXPECT_NE(err.find("absolute path"), std::string::npos) << err;
}

// --- duplicates and type changes --------------------------------------------------------

TEST_F(Hostile, DuplicateEntriesLastWins) {
    ASSERT_TRUE(apply(Tar().file("a", "first").file("a", "second", 0600).str()));
    EXPECT_EQ(content("a"), "second");
    EXPECT_EQ(lst("a").st_mode & 07777, 0600u);
}
TEST_F(Hostile, DirReplacedByFileAndBack) {
    ASSERT_TRUE(apply(Tar().dir("d").file("d/x", "1").str()));
    ASSERT_TRUE(apply(Tar().file("d", "file").str()));
    EXPECT_EQ(content("d"), "file");
    ASSERT_TRUE(apply(Tar().dir("d", 0700).str()));
    EXPECT_TRUE(S_ISDIR(lst("d").st_mode));
    EXPECT_FALSE(exists("d/x"));
}
TEST_F(Hostile, DirThenSymlinkSameLayerThenFileUnder) {
    // The symlink replaces the directory; the next entry must not follow it outside.
    EXPECT_REFUSED(Tar().dir("d").symlink("d", top_).file("d/canary", "x").str(), "d/canary",
                   "leads out of the root");
}

// --- devices --------------------------------------------------------------------------

TEST_F(Hostile, DeviceNodesSkippedWhenNotRoot) {
    opts_.mknod = false;
    opts_.rootless = false;  // rootless skips them the same way (RootlessReadOnly...)
    auto r = apply(Tar().node("null", AE_IFCHR, 1, 3).node("sda", AE_IFBLK, 8, 0).str());
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_FALSE(exists("null"));
    EXPECT_FALSE(exists("sda"));
    EXPECT_TRUE(r->warnings.empty());
    EXPECT_EQ(r->devices_skipped, 2u);
    EXPECT_EQ(r->first_device_skipped, "null");
    EXPECT_NE(devices_skipped_warning(2, "null").find("2 device node(s) skipped"),
              std::string::npos);
}

// --- bombs and caps ---------------------------------------------------------------------

TEST_F(Hostile, HugePaxHeader) {
    std::string big(2u << 20, 'x');
    std::string err = apply_error(Tar().file("f", "", 0644, 0, 0, 1, {{"user.big", big}}).str());
    EXPECT_TRUE(err.find("larger than the limit") != std::string::npos ||
                err.find("too large") != std::string::npos)
        << err;
}
TEST_F(Hostile, PaxHeaderClaimingAGigabyte) {
    std::string tar = raw_header("PaxHeaders/x", 'x', 1ull << 30) + std::string(512, '\0');
    std::string err = apply_error(tar);
    EXPECT_FALSE(err.empty());
    EXPECT_NE(err.find("read layer"), std::string::npos) << err;
}
TEST_F(Hostile, GzipBomb) {
    opts_.limits.max_expanded = 4u << 20;
    std::string tar = Tar().file("zeros", std::string(32u << 20, '\0')).str();
    auto r = apply_typed(gzip(tar), "application/vnd.oci.image.layer.v1.tar+gzip");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EFBIG);
}
TEST_F(Hostile, ZstdBomb) {
    opts_.limits.max_expanded = 4u << 20;
    std::string tar = Tar().file("zeros", std::string(32u << 20, '\0')).str();
    auto r = apply_typed(zstd(tar), "application/vnd.oci.image.layer.v1.tar+zstd");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EFBIG);
    EXPECT_NE(r.error().str().find("limit"), std::string::npos);
}
TEST_F(Hostile, DeclaredSizeBomb) {
    opts_.limits.max_expanded = 1u << 20;
    std::string tar = raw_header("big", '0', 1ull << 32);
    std::string err = apply_error(tar);
    EXPECT_NE(err.find("expand past the limit"), std::string::npos) << err;
}
TEST_F(Hostile, LongName) {
    std::string name(5000, 'a');
    std::string err = apply_error(Tar().file(name, "x").str());
    EXPECT_NE(err.find("path is 5000 bytes"), std::string::npos) << err;
}
TEST_F(Hostile, LongLinkTarget) {
    std::string err = apply_error(Tar().symlink("l", std::string(5000, 'b')).str());
    EXPECT_NE(err.find("link target is 5000 bytes"), std::string::npos) << err;
}
TEST_F(Hostile, TooManyEntries) {
    opts_.limits.max_entries = 10;
    Tar t;
    for (int i = 0; i < 11; ++i)
        t.file("f" + std::to_string(i), "");
    std::string err = apply_error(t.str());
    EXPECT_NE(err.find("more than 10 entries"), std::string::npos) << err;
}
TEST_F(Hostile, TruncatedTar) {
    std::string tar = Tar().file("f", std::string(4096, 'x')).str();
    std::string err = apply_error(tar.substr(0, 1024));
    EXPECT_FALSE(err.empty());
}
// A stream cut inside an entry's data or inside a header stays an error naming the entry,
// although a stream ending right after the last entry's data is accepted (layer_apply_test).
TEST_F(Hostile, TarCutInsideDataOrHeaderNamesTheEntry) {
    std::string a = raw_header("a", '0', 5000) + std::string(3000, 'x');
    std::string err = apply_error(a);
    EXPECT_NE(err.find("'a'"), std::string::npos) << err;
    EXPECT_NE(err.find("runcated"), std::string::npos) << err;
    // One byte short of the data.
    err = apply_error(raw_header("a", '0', 5) + "hell");
    EXPECT_NE(err.find("'a'"), std::string::npos) << err;
    // A whole first entry, then 300 bytes of the second one's header.
    std::string b = raw_header("a", '0', 5) + "hello" + std::string(507, '\0') +
                    raw_header("b", '0', 5).substr(0, 300);
    err = apply_error(b);
    EXPECT_NE(err.find("after 'a'"), std::string::npos) << err;
    // The same through a reader that never reads the data (archive listing): the cut is
    // still found, naming the entry.
    auto s = memory_stream(a);
    auto tr = TarReader::open(s.get(), Limits{});
    ASSERT_TRUE(tr);
    Entry e;
    ASSERT_TRUE((*tr)->next(e));
    auto more = (*tr)->next(e);
    ASSERT_FALSE(more);
    EXPECT_NE(more.error().str().find("'a'"), std::string::npos) << more.error().str();
}
TEST_F(Hostile, TruncatedGzip) {
    std::string gz = gzip(Tar().file("f", std::string(100000, 'x')).str());
    auto r =
        apply_typed(gz.substr(0, gz.size() / 2), "application/vnd.oci.image.layer.v1.tar+gzip");
    ASSERT_FALSE(r);
}
TEST_F(Hostile, CorruptZstd) {
    std::string z = zstd(Tar().file("f", std::string(100000, 'x')).str());
    z[z.size() / 2] ^= 0x55;
    z[z.size() / 2 + 1] ^= 0x55;
    auto r = apply_typed(z, "application/vnd.oci.image.layer.v1.tar+zstd");
    ASSERT_FALSE(r);
}
TEST_F(Hostile, DiffIdMismatch) {
    opts_.expected_diff_id = "sha256:" + std::string(64, '0');
    std::string err = apply_error(Tar().file("f", "x").str());
    EXPECT_NE(err.find("diff_id mismatch: expected sha256:000"), std::string::npos) << err;
}
TEST_F(Hostile, UnknownMediaType) {
    auto r = apply_typed("x", "application/vnd.evil.layer");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().str().find("unsupported layer media type"), std::string::npos);
}

}  // namespace
}  // namespace berth::image::layer::testing
