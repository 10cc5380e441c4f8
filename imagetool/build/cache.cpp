// The build cache: keys, entries (one small JSON file each) and the digest of a COPY's sources.
#include "imagetool/build/cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "imagetool/digest.hpp"

namespace berth::image::build {
namespace {

// Bumped when the key or the entry format changes: old entries then simply never match.
constexpr const char* kKeyVersion = "berth-build-cache-v1";
constexpr size_t kMaxEntry = 1u << 20;

bool is_hex64(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

nlohmann::json history_json(const spec::History& h) {
    nlohmann::json j = {{"created", h.created}, {"created_by", h.created_by}};
    if (!h.author.empty()) j["author"] = h.author;
    if (!h.comment.empty()) j["comment"] = h.comment;
    if (h.empty_layer) j["empty_layer"] = true;
    return j;
}

spec::History history_of(const nlohmann::json& j) {
    spec::History h;
    h.created = j.at("created").get<std::string>();
    h.created_by = j.at("created_by").get<std::string>();
    h.author = j.value("author", "");
    h.comment = j.value("comment", "");
    h.empty_layer = j.value("empty_layer", false);
    return h;
}

// Fields are length-prefixed so that no two different walks feed the same bytes.
void put(Hasher& h, std::string_view s) {
    uint64_t n = s.size();
    h.update(&n, sizeof n);
    h.update(s);
}

// What the walk knew of a file the last time: while (dev, inode, size, mtime, ctime) are the
// same, the content is (ctime cannot be set from user space; a write or chmod moves it), so
// its digest is taken from here and the file is not read (git's index does the same).
struct Seen {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    std::string digest;  // sha256 hex of the content
};

bool same(const Seen& s, const struct stat& st) {
    return s.dev == st.st_dev && s.ino == st.st_ino && s.size == st.st_size &&
           s.mtime.tv_sec == st.st_mtim.tv_sec && s.mtime.tv_nsec == st.st_mtim.tv_nsec &&
           s.ctime.tv_sec == st.st_ctim.tv_sec && s.ctime.tv_nsec == st.st_ctim.tv_nsec;
}

// The file digests of one COPY's sources from the last build, and those of this walk.
class Memo {
  public:
    void load(const std::string& path) {
        path_ = path;
        auto text = read_file(path, 256u << 20);
        if (!text || text->rfind(kMemoHeader, 0) != 0) return;  // none or unreadable: read all
        size_t pos = std::string_view(kMemoHeader).size();
        while (pos < text->size()) {
            size_t nl = text->find('\n', pos);
            if (nl == std::string::npos) break;
            parse_line(std::string_view(*text).substr(pos, nl - pos));
            pos = nl + 1;
        }
    }
    const Seen* find(const std::string& rel, const struct stat& st) {
        auto it = old_.find(rel);
        if (it == old_.end() || !same(it->second, st)) return nullptr;
        return &it->second;
    }
    void keep(const std::string& rel, const struct stat& st, const std::string& digest,
              bool reused) {
        // Racily clean (git's term): a file changed within the timestamp granularity after
        // we read it would keep its times, so a file this recent is read again next time.
        if (!reused && (now_ - st.st_ctim.tv_sec < 3 || now_ - st.st_mtim.tv_sec < 3)) {
            dirty_ = true;
            return;
        }
        if (rel.find('\n') != std::string::npos) return;
        new_[rel] = Seen{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, digest};
        dirty_ = dirty_ || !reused;
    }
    // Rewritten when it would differ; losing it costs reading the files once more.
    void save() {
        if (path_.empty() || (!dirty_ && new_.size() == old_.size())) return;
        if (!mkdir_p(path_.substr(0, path_.rfind('/')), 0700)) return;
        std::string out = kMemoHeader;
        for (const auto& [rel, s] : new_) {
            char buf[256];
            std::snprintf(buf, sizeof buf, "%llu %llu %lld %lld %ld %lld %ld %s ",
                          (unsigned long long)s.dev, (unsigned long long)s.ino, (long long)s.size,
                          (long long)s.mtime.tv_sec, s.mtime.tv_nsec, (long long)s.ctime.tv_sec,
                          s.ctime.tv_nsec, s.digest.c_str());
            out += buf + rel + "\n";
        }
        (void)write_file_replace(path_, out, 0600);
    }

  private:
    static constexpr const char* kMemoHeader = "berth-build-memo-v1\n";
    void parse_line(std::string_view line) {
        // dev ino size msec mnsec csec cnsec digest path (the path may hold spaces)
        unsigned long long v[7];
        const char* p = line.data();
        const char* end = line.data() + line.size();
        for (auto& x : v) {
            char* e = nullptr;
            x = std::strtoull(p, &e, 10);
            if (e == p || e >= end || *e != ' ') return;
            p = e + 1;
        }
        if (end - p < 66 || p[64] != ' ') return;
        std::string digest(p, 64);
        if (!is_hex64(digest)) return;
        std::string rel(p + 65, end);
        old_[rel] = Seen{dev_t(v[0]),
                         ino_t(v[1]),
                         off_t(v[2]),
                         {time_t(v[3]), long(v[4])},
                         {time_t(v[5]), long(v[6])},
                         std::move(digest)};
    }
    std::string path_;
    std::unordered_map<std::string, Seen> old_;
    std::map<std::string, Seen> new_;
    bool dirty_ = false;
    time_t now_ = std::time(nullptr);
};

struct Walk {
    Hasher& h;
    Memo& memo;
    const IgnoreRules* ignore;  // the .dockerignore: what it leaves out is not copied, nor hashed
};

// A walk path ("./a/b" below the context itself) as .dockerignore rules see it ("a/b").
std::string_view ignore_rel(std::string_view rel) {
    if (rel.rfind("./", 0) == 0) rel.remove_prefix(2);
    return rel;
}

Status file_digest(Walk& w, int fd, const struct stat& st, const std::string& rel) {
    if (const Seen* s = w.memo.find(rel, st)) {
        put(w.h, s->digest);
        w.memo.keep(rel, st, s->digest, true);
        return ok();
    }
    Hasher fh;
    char buf[1 << 16];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = ::read(fd, buf, size_t(std::min<off_t>(left, off_t(sizeof buf))));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read '" + rel + "'");
        if (n == 0) return error("'" + rel + "' changed while it was read");
        fh.update(buf, size_t(n));
        left -= n;
    }
    std::string d = fh.finish().hex;
    put(w.h, d);
    w.memo.keep(rel, st, d, false);
    return ok();
}

// One entry (its header, then its content or its children) below a COPY source.
Status hash_entry(Walk& w, int dir_fd, const std::string& name, const std::string& rel);

Status hash_dir(Walk& w, int fd, const std::string& rel) {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return sys_error("dup '" + rel + "'");
    DIR* d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return sys_error("read directory '" + rel + "'");
    }
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    closedir(d);
    // readdir order depends on the filesystem and its history; the digest must not.
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string r = rel + "/" + n;
        if (w.ignore && w.ignore->excluded(ignore_rel(r))) {
            // As copy_into: an excluded directory is only walked when a `!` rule could bring
            // back something below it.
            struct stat st;
            if (fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
                return sys_error("stat '" + r + "'");
            if (!(S_ISDIR(st.st_mode) && w.ignore->has_exceptions())) continue;
        }
        TRY(hash_entry(w, fd, n, r));
    }
    return ok();
}

void hash_stat(Hasher& h, const std::string& rel, const struct stat& st) {
    char type = S_ISDIR(st.st_mode)   ? 'd'
                : S_ISREG(st.st_mode) ? 'f'
                : S_ISLNK(st.st_mode) ? 'l'
                                      : '?';
    put(h, rel);
    put(h, std::string(1, type) + " " + std::to_string(st.st_mode & 07777) + " " +
               (S_ISREG(st.st_mode) ? std::to_string(st.st_size) : "-"));
}

Status hash_entry(Walk& w, int dir_fd, const std::string& name, const std::string& rel) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error("stat '" + rel + "'");
    hash_stat(w.h, rel, st);
    if (S_ISDIR(st.st_mode)) {
        UniqueFd d(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return sys_error("open '" + rel + "'");
        return hash_dir(w, d.get(), rel);
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(dir_fd, name.c_str(), target, sizeof target);
        if (n < 0) return sys_error("readlink '" + rel + "'");
        put(w.h, std::string_view(target, size_t(n)));
        return ok();
    }
    if (!S_ISREG(st.st_mode))
        return error("'" + rel + "': not a regular file, directory or symlink");
    if (const Seen* s = w.memo.find(rel, st)) {
        // Known and unchanged: not even opened.
        put(w.h, s->digest);
        w.memo.keep(rel, st, s->digest, true);
        return ok();
    }
    UniqueFd f(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return sys_error("open '" + rel + "'");
    return file_digest(w, f.get(), st, rel);
}

}  // namespace

std::string cache_key(const spec::ImageConfig& parent, const std::string& step) {
    spec::ImageConfig p = parent;
    // The image's own timestamp is set at the end of a build; the history's are the state.
    p.created.clear();
    Hasher h;
    put(h, kKeyVersion);
    put(h, spec::to_json(p).dump());
    put(h, step);
    return h.finish().hex;
}

std::string build_cache_dir(const Store& store) {
    return store.dir() + "/.berth/build-cache";
}

Result<std::optional<CacheEntry>> cache_lookup(const Store& store, const std::string& key) {
    std::string path = build_cache_dir(store) + "/" + key + ".json";
    auto text = read_file(path, kMaxEntry);
    if (!text) {
        if (text.error().code() == ENOENT) return std::optional<CacheEntry>{};
        return std::move(text).error();
    }
    CacheEntry e;
    try {
        auto j = nlohmann::json::parse(*text);
        if (j.at("key").get<std::string>() != key) return error("'" + path + "': another key");
        e.history = history_of(j.at("history"));
        if (j.contains("layer")) {
            e.layer = TRY(spec::parse_descriptor(j.at("layer").dump()));
            e.diff_id = TRY(spec::Digest::parse(j.at("diff_id").get<std::string>()));
        }
    } catch (const std::exception& ex) {
        return error("'" + path + "': " + ex.what());
    }
    if (e.layer) {
        // A blob removed or cut short behind the store's back: the step runs again.
        struct stat st;
        std::string blob = store.blob_path(e.layer->digest);
        if (::stat(blob.c_str(), &st) < 0) return sys_error("layer blob " + e.layer->digest.str());
        if (!S_ISREG(st.st_mode) || st.st_size != e.layer->size)
            return error("layer blob " + e.layer->digest.str() + " has " +
                         std::to_string(st.st_size) + " bytes, not " +
                         std::to_string(e.layer->size));
    }
    return std::optional<CacheEntry>(std::move(e));
}

Status cache_record(const Store& store, const std::string& key, const CacheEntry& entry) {
    std::string dir = build_cache_dir(store);
    TRY(mkdir_p(dir, 0700));
    nlohmann::json j = {{"key", key}, {"history", history_json(entry.history)}};
    if (entry.layer && entry.diff_id) {
        j["layer"] = spec::to_json(*entry.layer);
        j["diff_id"] = entry.diff_id->str();
    }
    return write_file_atomic(dir + "/" + key + ".json", j.dump() + "\n", 0600);
}

std::string copy_memo_file(const Store& store, const std::string& context, const CopySpec& spec) {
    Hasher h;
    put(h, context);
    for (const auto& s : spec.sources)
        put(h, s);
    return build_cache_dir(store) + "/files-" + h.finish().hex;
}

Result<std::string> copy_sources_digest(int context_fd, const CopySpec& spec,
                                        const std::string& memo_file) {
    Hasher h;
    Memo memo;
    if (!memo_file.empty()) memo.load(memo_file);
    Walk w{h, memo, spec.ignore};
    put(h, kKeyVersion);
    for (const auto& s : spec.sources) {
        std::string rel = TRY(context_relative(s));
        if (spec.ignore && spec.ignore->excluded(rel == "." ? "" : rel))
            return error("source '" + s + "' is excluded by .dockerignore");
        // Resolved as copy_into resolves it (beneath the context), so both see the same file.
        auto fd = TRY(open_in_root(context_fd, rel, O_PATH, 0, kInRootBeneath));
        struct stat st;
        if (fstat(fd.get(), &st) < 0) return sys_error("stat '" + s + "'");
        put(h, s);
        hash_stat(h, rel, st);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
            return error("'" + s + "': not a regular file or directory");
        // O_PATH cannot be read; reopened as copy_into reopens it (never a FIFO: checked).
        auto rd = TRY(open_in_root(context_fd, rel, O_RDONLY, 0, kInRootBeneath));
        if (S_ISDIR(st.st_mode))
            TRY(hash_dir(w, rd.get(), rel));
        else
            TRY(file_digest(w, rd.get(), st, rel));
    }
    memo.save();
    return h.finish().str();
}

Status cache_live_blobs(const Store& store, std::set<spec::Digest>& live) {
    std::string dir = build_cache_dir(store);
    for (const auto& n : list_dir(dir)) {
        if (n.size() == 69 && n.compare(64, 5, ".json") == 0 && is_hex64(n.substr(0, 64))) {
            auto e = cache_lookup(store, n.substr(0, 64));
            if (e && *e && (*e)->layer) live.insert((*e)->layer->digest);
            continue;
        }
        // write_file_atomic's temporaries (<name>.tmp-<pid>-<n>): no build runs while gc
        // holds the exclusive lock, so any left is a crashed build's.
        if (n.find(".tmp-") != std::string::npos) (void)::unlink((dir + "/" + n).c_str());
    }
    return ok();
}

Result<size_t> clear_build_cache(const Store& store) {
    std::string dir = build_cache_dir(store);
    size_t n = 0;
    for (const auto& name : list_dir(dir)) {
        if (::unlink((dir + "/" + name).c_str()) < 0 && errno != ENOENT)
            return sys_error("remove '" + dir + "/" + name + "'");
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) ++n;
    }
    return n;
}

}  // namespace berth::image::build
