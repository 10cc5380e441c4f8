// Compiled-filter cache: a Docker-sized profile costs libseccomp ~10 ms; a cache hit ~0.1 ms.
//
// File <dir>/<fnv1a64(key)>.bpf holds the whole key followed by the program, and a hit
// requires the stored key to equal the computed one byte for byte, so a hash collision (or
// a truncated or foreign file) can only cost a recompile, never load the wrong filter. berth
// does not link a crypto library for this: the hash only names the file.
#include <dirent.h>
#include <seccomp.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/file.hpp"
#include "base/log.hpp"
#include "runtime/linux/seccomp.hpp"

namespace berth::seccomp {
namespace {

constexpr char kMagic[] = "berth-seccomp-cache 1\n";
constexpr size_t kMaxEntries = 64;

// Length-prefixed fields so no two different profiles share a serialisation.
void put(std::string& out, std::string_view s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
}
void put(std::string& out, uint64_t v) {
    put(out, std::to_string(v));
}

// Everything that decides the program and flags: the profile (minus the listener fields,
// which compile() copies through), libseccomp, the kernel (flag probes), the native arch.
std::string cache_key(const spec::Seccomp& p) {
    std::string k;
    const struct scmp_version* v = seccomp_version();
    struct utsname u {};
    uname(&u);
    put(k, BERTH_VERSION);
    put(k, "enosys-stub");  // programs cached before the stub existed must not be reused
    put(k,
        std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
    put(k, u.release);
    put(k, u.machine);
    put(k, p.default_action);
    put(k, p.default_errno_ret ? std::to_string(*p.default_errno_ret) : "-");
    put(k, p.architectures.size());
    for (const auto& a : p.architectures)
        put(k, a);
    put(k, p.flags.size());
    for (const auto& f : p.flags)
        put(k, f);
    // Whether a listener exists changes the flags; the path itself does not.
    put(k, p.listener_path.empty() ? "0" : "1");
    put(k, p.syscalls.size());
    for (const auto& s : p.syscalls) {
        put(k, s.names.size());
        for (const auto& n : s.names)
            put(k, n);
        put(k, s.action);
        put(k, s.errno_ret ? std::to_string(*s.errno_ret) : "-");
        put(k, s.args.size());
        for (const auto& a : s.args) {
            put(k, a.index);
            put(k, a.value);
            put(k, a.value_two ? std::to_string(*a.value_two) : "-");
            put(k, a.op);
        }
    }
    return k;
}

uint64_t fnv1a64(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

void put_u32(std::string& out, uint32_t v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
bool get_u32(std::string_view& in, uint32_t* v) {
    if (in.size() < sizeof *v) return false;
    std::memcpy(v, in.data(), sizeof *v);
    in.remove_prefix(sizeof *v);
    return true;
}

std::string serialize(const std::string& key, const CompiledFilter& f) {
    std::string out = kMagic;
    put_u32(out, uint32_t(key.size()));
    out += key;
    put_u32(out, f.flags);
    put_u32(out, f.needs_listener ? 1 : 0);
    put_u32(out, uint32_t(f.program.size()));
    out.append(reinterpret_cast<const char*>(f.program.data()),
               f.program.size() * sizeof(struct sock_filter));
    return out;
}

bool deserialize(std::string_view in, const std::string& key, CompiledFilter* f) {
    const size_t magic_len = sizeof(kMagic) - 1;
    if (in.substr(0, magic_len) != kMagic) return false;
    in.remove_prefix(magic_len);
    uint32_t klen, flags, listener, n;
    if (!get_u32(in, &klen) || in.size() < klen || in.substr(0, klen) != key) return false;
    in.remove_prefix(klen);
    if (!get_u32(in, &flags) || !get_u32(in, &listener) || !get_u32(in, &n)) return false;
    if (n == 0 || n > BPF_MAXINSNS || in.size() != n * sizeof(struct sock_filter)) return false;
    f->flags = flags;
    f->needs_listener = listener != 0;
    f->program.resize(n);
    std::memcpy(f->program.data(), in.data(), in.size());
    return true;
}

// Keeps the directory bounded: past kMaxEntries profiles, start over.
void evict(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n.size() > 4 && n.substr(n.size() - 4) == ".bpf") names.emplace_back(n);
    }
    closedir(d);
    if (names.size() < kMaxEntries) return;
    for (const auto& n : names)
        unlink((dir + "/" + n).c_str());
}

}  // namespace

std::string cache_dir() {
    if (::geteuid() == 0) return "/run/berth-seccomp-cache";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    // Not /tmp: a directory another user could make first would feed us their programs.
    if (!xdg || xdg[0] != '/') return "";
    return std::string(xdg) + "/berth-seccomp-cache";
}

Result<CompiledFilter> compile_cached(const spec::Seccomp& p, const std::string& dir) {
    const std::string key = cache_key(p);
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.bpf", static_cast<unsigned long long>(fnv1a64(key)));
    const std::string path = dir + "/" + name;

    if (auto bytes = read_file(path, 8u << 20); bytes) {
        CompiledFilter f;
        if (deserialize(*bytes, key, &f)) {
            f.listener_path = p.listener_path;
            f.listener_metadata = p.listener_metadata;
            return f;
        }
        log::debug("seccomp cache entry " + path + " does not match; recompiling");
    }

    CompiledFilter f = TRY(compile(p));
    evict(dir);
    Status st = mkdir_p(dir, 0700);
    if (st) st = write_file_atomic(path, serialize(key, f), 0600);
    if (!st) log::debug("seccomp cache not written: " + st.error().str());
    return f;
}

}  // namespace berth::seccomp
