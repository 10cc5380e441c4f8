// Test helpers for layer application: a libarchive-backed tar writer, raw header crafting,
// gzip/zstd compression, and a fixture with a root and canaries outside it.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/file.hpp"
#include "imagetool/layer/apply.hpp"

namespace berth::image::layer::testing {

class Tar {
  public:
    Tar() {
        a_ = archive_write_new();
        archive_write_set_format_pax_restricted(a_);
        archive_write_set_bytes_in_last_block(a_, 1);
        archive_write_open(a_, this, nullptr, write_cb, nullptr);
    }
    ~Tar() {
        if (a_) archive_write_free(a_);
    }
    Tar& file(const std::string& name, const std::string& data, mode_t mode = 0644, uid_t uid = 0,
              gid_t gid = 0, time_t mtime = 1000000000,
              std::vector<std::pair<std::string, std::string>> xattrs = {}) {
        auto* e = entry(name, AE_IFREG, mode, uid, gid, mtime);
        archive_entry_set_size(e, la_int64_t(data.size()));
        for (auto& [k, v] : xattrs)
            archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
        write(e, data);
        return *this;
    }
    Tar& dir(const std::string& name, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0,
             time_t mtime = 1000000000) {
        write(entry(name, AE_IFDIR, mode, uid, gid, mtime), "");
        return *this;
    }
    Tar& symlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFLNK, 0777, 0, 0, 1000000000);
        archive_entry_set_symlink(e, target.c_str());
        write(e, "");
        return *this;
    }
    Tar& hardlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFREG, 0644, 0, 0, 1000000000);
        archive_entry_set_hardlink(e, target.c_str());
        archive_entry_set_size(e, 0);
        write(e, "");
        return *this;
    }
    Tar& node(const std::string& name, mode_t type, unsigned maj, unsigned min) {
        auto* e = entry(name, type, 0600, 0, 0, 1000000000);
        archive_entry_set_rdevmajor(e, maj);
        archive_entry_set_rdevminor(e, min);
        write(e, "");
        return *this;
    }
    // A file whose header declares `size` bytes but carries only zeros written sparsely by the
    // tar format: used to claim huge sizes cheaply.
    std::string str() {
        if (a_) {
            archive_write_close(a_);
            archive_write_free(a_);
            a_ = nullptr;
        }
        return out_;
    }
    struct archive* raw() {
        return a_;
    }

  private:
    struct archive_entry* entry(const std::string& name, mode_t type, mode_t mode, uid_t uid,
                                gid_t gid, time_t mtime) {
        auto* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, mode);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, mtime, 0);
        return e;
    }
    void write(struct archive_entry* e, const std::string& data) {
        EXPECT_EQ(archive_write_header(a_, e), ARCHIVE_OK) << archive_error_string(a_);
        if (!data.empty()) archive_write_data(a_, data.data(), data.size());
        archive_entry_free(e);
    }
    static la_ssize_t write_cb(struct archive*, void* self, const void* buf, size_t len) {
        static_cast<Tar*>(self)->out_.append(static_cast<const char*>(buf), len);
        return la_ssize_t(len);
    }
    struct archive* a_;
    std::string out_;
};

// A raw 512-byte ustar header (for what libarchive's writer refuses to produce).
inline std::string raw_header(const std::string& name, char type, uint64_t size) {
    std::string h(512, '\0');
    std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
    std::snprintf(&h[100], 8, "%07o", 0644);
    std::snprintf(&h[108], 8, "%07o", 0);
    std::snprintf(&h[116], 8, "%07o", 0);
    // Eleven octal digits is all the field holds; larger sizes go in PAX headers.
    std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size & 077777777777ULL));
    std::snprintf(&h[136], 12, "%011o", 1000000000);
    h[156] = type;
    std::memcpy(&h[257], "ustar", 6);
    std::memcpy(&h[263], "00", 2);
    std::memset(&h[148], ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    std::snprintf(&h[148], 8, "%06o", sum);
    return h;
}

inline std::string gzip(const std::string& in) {
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, uLong(in.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = uInt(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

inline std::string zstd(const std::string& in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
    out.resize(n);
    return out;
}

class LayerFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-layer-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        root_ = top_ + "/root";
        ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
        ASSERT_TRUE(write_file_atomic(top_ + "/canary", "host", 0644).ok());
        ASSERT_EQ(mkdir((top_ + "/canary_dir").c_str(), 0755), 0);
        ASSERT_TRUE(write_file_atomic(top_ + "/canary_dir/keep", "host", 0644).ok());
        rootfd_.reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(rootfd_.valid());
        opts_ = default_apply_options();
        // BERTH_TEST_ROOTLESS=1: the hostile corpus again through the rootless applier
        // (held-back directory modes, recorded owners), which must stay as contained.
        if (const char* r = getenv("BERTH_TEST_ROOTLESS"); r && *r == '1') {
            opts_.rootless = true;
            opts_.chown = opts_.mknod = false;
        }
    }
    void TearDown() override {
        EXPECT_TRUE(canary_intact()) << "something outside the root was touched";
        (void)remove_all(top_);
    }

    Result<ApplyResult> apply(const std::string& tar) {
        auto s = memory_stream(tar);
        return apply_tar(rootfd_.get(), *s, opts_);
    }
    Result<ApplyResult> apply_typed(const std::string& blob, const std::string& media_type) {
        auto s = open_layer_stream(memory_stream(blob), media_type, opts_.limits.max_expanded);
        if (!s) return std::move(s).error();
        return apply_tar(rootfd_.get(), **s, opts_);
    }
    // The error message of a failed application ("" when it succeeded).
    std::string apply_error(const std::string& tar) {
        auto r = apply(tar);
        return r ? "" : r.error().str();
    }

    bool canary_intact() {
        auto c = read_file(top_ + "/canary");
        auto k = read_file(top_ + "/canary_dir/keep");
        struct stat st;
        if (lstat((top_ + "/canary").c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
        if ((st.st_mode & 07777) != 0644 || st.st_uid != geteuid()) return false;
        if (lstat((top_ + "/canary_dir").c_str(), &st) != 0 || (st.st_mode & 07777) != 0755)
            return false;
        int n = 0;
        if (DIR* d = opendir((top_ + "/canary_dir").c_str())) {
            while (readdir(d))
                ++n;
            closedir(d);
        }
        // Nothing new next to the canaries either.
        int m = 0;
        if (DIR* d = opendir(top_.c_str())) {
            while (readdir(d))
                ++m;
            closedir(d);
        }
        return c && *c == "host" && k && *k == "host" && n == 3 && m == 5;
    }
    std::string in_root(const std::string& p) { return root_ + "/" + p; }
    bool exists(const std::string& p) {
        struct stat st;
        return lstat(in_root(p).c_str(), &st) == 0;
    }
    struct stat lst(const std::string& p) {
        struct stat st {};
        EXPECT_EQ(lstat(in_root(p).c_str(), &st), 0) << p;
        return st;
    }
    std::string content(const std::string& p) {
        auto r = read_file(in_root(p));
        return r ? *r : "<missing>";
    }

    std::string top_, root_;
    UniqueFd rootfd_;
    ApplyOptions opts_;
};

}  // namespace berth::image::layer::testing
