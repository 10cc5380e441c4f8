// The build loop. The image so far lives in memory (config + layer descriptors); a step that
// makes a layer stores it under a private temporary name, unpacks it as a snapshot bundle,
// changes the bundle (RUN through `berth run`, COPY through copy.cpp) and commits the change.
// The temporary name is removed at the end whatever happens, so a failed build names nothing.
#include "imagetool/build/builder.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "imagetool/build/cache.hpp"
#include "imagetool/build/copy.hpp"
#include "imagetool/build/dockerfile.hpp"
#include "imagetool/bundle/commit.hpp"
#include "imagetool/bundle/snapshot.hpp"
#include "imagetool/bundle/unpack.hpp"
#include "imagetool/bundle/user.hpp"
#include "imagetool/reference.hpp"

extern char** environ;

namespace berth::image::build {

volatile std::sig_atomic_t interrupted = 0;
namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : " ") + x;
    return s;
}

// Exit status of a program, or -1 with errno when it could not be started. stdin is
// /dev/null (a build never reads the terminal); the program's stdout goes to our stderr so
// that stdout carries only the image digest.
Result<int> run_program(const std::vector<std::string>& argv) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return sys_error("start '" + argv[0] + "'");
    }
    int status = 0;
    bool forwarded = false;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return sys_error("wait for '" + argv[0] + "'");
        // Interrupted: the container's init (pid 1 of its namespace) ignores SIGINT and
        // SIGTERM it has no handler for, so `berth run` is killed and the `delete --force`
        // that follows every RUN ends the container; the build then cleans up.
        if (interrupted && !forwarded) {
            kill(pid, SIGKILL);
            forwarded = true;
        }
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

void set_env(spec::ContainerConfig& cc, const std::string& k, const std::string& v) {
    for (auto& e : cc.env)
        if (e.compare(0, k.size() + 1, k + "=") == 0) {
            e = k + "=" + v;
            return;
        }
    cc.env.push_back(k + "=" + v);
}

std::string lexical_clean(const std::string& p) {
    std::vector<std::string> out;
    for (const auto& c : path_components(p)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    std::string r;
    for (const auto& c : out)
        r += "/" + c;
    return r.empty() ? "/" : r;
}

class Builder {
  public:
    Builder(Store& store, const BuildOptions& o, Dockerfile df)
        : store_(store), o_(o), df_(std::move(df)) {}
    ~Builder() { cleanup(); }

    Result<spec::Descriptor> run();

  private:
    Status step(const Instruction& ins);
    Status from(const Instruction& ins);
    Status layer_step(const Instruction& ins, const std::string& created_by,
                      const std::vector<std::string>& run_argv, std::optional<CopySpec> copy,
                      const std::string& chown = "");
    Status copy(const Instruction& ins);
    Status run_step(const Instruction& ins);
    void config_only(const Instruction& ins);
    // Build cache hooks (cache.hpp): a step is looked up before it runs, recorded after.
    std::string layer_key(const Instruction& ins, const std::string& created_by,
                          const std::vector<std::string>& run_argv,
                          const std::optional<CopySpec>& copy, const std::string& chown) const;
    bool from_cache(const std::string& key, const std::string& created_by, bool layer);
    void to_cache(const std::string& key);
    Error fail(const Instruction& ins, const std::string& msg) const {
        return error(df_.where(ins) + ": " + ins.keyword + ": " + msg);
    }
    Lookup vars() const;
    std::string work_dir() const { return cc().working_dir.empty() ? "/" : cc().working_dir; }
    spec::ContainerConfig& cc() { return *cfg_.config; }
    const spec::ContainerConfig& cc() const { return *cfg_.config; }
    void cleanup();

    Store& store_;
    const BuildOptions& o_;
    Dockerfile df_;
    std::map<std::string, std::string> meta_args_;  // ARG before FROM
    std::map<std::string, std::string> args_;       // ARG in the stage, with values
    bool have_from_ = false;
    spec::ImageConfig cfg_;
    std::vector<spec::Descriptor> layers_;
    std::string tmp_name_;
    std::string work_;  // <store>/.berth/builds/<pid>
    std::string bundle_;
    std::string ctr_;
    int steps_ = 0;
    bool cmd_set_here_ = false;
};

Lookup Builder::vars() const {
    // ENV wins over ARG, as the reference says.
    std::map<std::string, std::string> m = have_from_ ? args_ : meta_args_;
    if (have_from_)
        for (const auto& e : cc().env) {
            auto eq = e.find('=');
            if (eq != std::string::npos) m[e.substr(0, eq)] = e.substr(eq + 1);
        }
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(m));
    return [shared](const std::string& k) -> std::optional<std::string> {
        auto it = shared->find(k);
        if (it == shared->end()) return std::nullopt;
        return it->second;
    };
}

void Builder::cleanup() {
    if (!ctr_.empty()) {
        (void)run_program({o_.berth, "--root", work_ + "/run", "delete", "--force", ctr_});
        ctr_.clear();
    }
    if (!bundle_.empty()) {
        if (bundle::is_snapshot_bundle(bundle_))
            (void)bundle::umount_snapshot(bundle_);
        else
            (void)remove_all(bundle_);
        bundle_.clear();
    }
    if (!tmp_name_.empty()) {
        (void)store_.remove_name(tmp_name_);
        tmp_name_.clear();
    }
    if (!work_.empty()) {
        (void)remove_all(work_);
        work_.clear();
    }
}

Status Builder::from(const Instruction& ins) {
    if (have_from_) return fail(ins, "multi-stage builds are not supported yet");
    for (const auto& f : ins.flags)
        if (f.rfind("platform", 0) != 0) return fail(ins, "unknown flag --" + f);
    auto words = expand_words(ins.text(), vars(), df_.escape);
    if (!words) return fail(ins, words.error().str());
    if (words->size() != 1 &&
        !(words->size() == 3 &&
          (words->at(1) == "AS" || words->at(1) == "as" || words->at(1) == "As")))
        return fail(ins, "expected IMAGE [AS NAME], got '" + ins.text() + "'");
    const std::string& ref = words->front();
    have_from_ = true;
    if (ref == "scratch") {
        cfg_ = {};
        auto p = spec::host_platform();
        cfg_.os = p.os;
        cfg_.architecture = p.architecture;
        cfg_.variant = p.variant;
        cfg_.config = spec::ContainerConfig{};
        return ok();
    }
    auto img = store_.load_image(ref);
    if (!img)
        return fail(
            ins, "base image '" + ref + "': " + img.error().str() + " (pull or import it first)");
    cfg_ = img->config;
    if (!cfg_.config) cfg_.config = spec::ContainerConfig{};
    layers_ = img->layers();
    return ok();
}

Status Builder::layer_step(const Instruction& ins, const std::string& created_by,
                           const std::vector<std::string>& run_argv, std::optional<CopySpec> copy,
                           const std::string& chown) {
    ++steps_;
    std::string key = layer_key(ins, created_by, run_argv, copy, chown);
    if (from_cache(key, created_by, true)) return ok();
    spec::ImageConfig base = cfg_;
    // RUN sees the stage's ARGs in its environment, but they are not part of the image.
    if (!run_argv.empty())
        for (const auto& [k, v] : args_) {
            bool in_env = false;
            for (const auto& e : cc().env)
                in_env = in_env || e.compare(0, k.size() + 1, k + "=") == 0;
            if (!in_env) base.config->env.push_back(k + "=" + v);
        }
    TRY(store_.put_image(tmp_name_, base, layers_));
    bundle_ = work_ + "/step-" + std::to_string(steps_);
    bundle::UnpackOptions uo;
    uo.snapshot = true;
    uo.bundle.entrypoint = run_argv.empty() ? std::vector<std::string>{"/bin/true"} : run_argv;
    auto up = bundle::unpack_image(store_, tmp_name_, bundle_, uo);
    if (!up) {
        bundle_.clear();
        return fail(ins, up.error().str());
    }
    if (!run_argv.empty()) {
        ctr_ = "berth-build-" + std::to_string(getpid()) + "-" + std::to_string(steps_);
        int rc = TRY(
            run_program({o_.berth, "--root", work_ + "/run", "run", "--bundle", bundle_, ctr_}));
        (void)run_program({o_.berth, "--root", work_ + "/run", "delete", "--force", ctr_});
        ctr_.clear();
        if (interrupted) return fail(ins, "interrupted");
        if (rc != 0)
            return fail(ins,
                        "'" + join(run_argv) + "' returned a non-zero code: " + std::to_string(rc));
    }
    if (copy) {
        UniqueFd ctx(open(o_.context.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!ctx) return fail(ins, sys_error("open context '" + o_.context + "'").str());
        UniqueFd root(open((bundle_ + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return fail(ins, sys_error("open " + bundle_ + "/rootfs").str());
        if (!chown.empty()) {
            // Without a group, a number is also the gid and a name gives its passwd entry's
            // group: what BuildKit does (the reference says "the same numeric UID as GID").
            auto colon = chown.find(':');
            std::string user = chown.substr(0, colon);
            auto u = bundle::resolve_user(root.get(), user);
            if (!u) return fail(ins, "--chown: " + u.error().str());
            copy->uid = u->uid;
            copy->gid = user.find_first_not_of("0123456789") == std::string::npos ? u->uid : u->gid;
            if (colon != std::string::npos) {
                auto gr = bundle::resolve_user(root.get(), "0:" + chown.substr(colon + 1));
                if (!gr) return fail(ins, "--chown: " + gr.error().str());
                copy->gid = gr->gid;
            }
        }
        if (auto st = copy_into(ctx.get(), root.get(), *copy); !st)
            return fail(ins, st.error().str());
    }
    bundle::CommitOptions co;
    co.message = created_by;
    auto cr = bundle::commit_bundle(store_, bundle_, tmp_name_, co);
    if (!cr) return fail(ins, cr.error().str());
    auto img = store_.load_image(tmp_name_);
    if (!img) return fail(ins, img.error().str());
    auto keep = cfg_.config;
    cfg_ = img->config;
    cfg_.config = keep;
    layers_ = img->layers();
    TRY(bundle::umount_snapshot(bundle_));
    bundle_.clear();
    to_cache(key);
    return ok();
}

Status Builder::run_step(const Instruction& ins) {
    for (const auto& f : ins.flags)
        if (f.rfind("network", 0) != 0) return fail(ins, "flag --" + f + " is not supported yet");
    std::vector<std::string> argv;
    if (ins.json) {
        argv = ins.args;
    } else {
        argv = cc().shell.value_or(std::vector<std::string>{"/bin/sh", "-c"});
        argv.push_back(ins.text());
    }
    if (argv.empty()) return fail(ins, "empty command");
    return layer_step(ins, "RUN " + join(argv), argv, std::nullopt);
}

Status Builder::copy(const Instruction& ins) {
    CopySpec cs;
    std::string chown;
    for (const auto& f : ins.flags) {
        auto eq = f.find('=');
        std::string k = f.substr(0, eq), v = eq == std::string::npos ? "" : f.substr(eq + 1);
        if (k == "chown") {
            chown = v;
        } else if (k == "chmod") {
            char* end = nullptr;
            unsigned long m = std::strtoul(v.c_str(), &end, 8);
            if (v.empty() || *end || m > 07777) return fail(ins, "--chmod: bad mode '" + v + "'");
            cs.mode = mode_t(m);
        } else if (k == "from") {
            return fail(ins, "--from is not supported yet (multi-stage builds)");
        } else {
            return fail(ins, "flag --" + k + " is not supported yet");
        }
    }
    std::vector<std::string> words;
    if (ins.json) {
        for (const auto& a : ins.args) {
            auto w = expand_word(a, vars(), df_.escape);
            if (!w) return fail(ins, w.error().str());
            words.push_back(*w);
        }
    } else {
        auto w = expand_words(ins.text(), vars(), df_.escape);
        if (!w) return fail(ins, w.error().str());
        words = *w;
    }
    if (words.size() < 2) return fail(ins, "expected SOURCE... DEST");
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        const auto& s = words[i];
        if (s.find("://") != std::string::npos)
            return fail(ins, "remote source '" + s + "' is not supported");
        if (s.find_first_of("*?[") != std::string::npos)
            return fail(ins, "wildcard source '" + s + "' is not supported yet");
        cs.sources.push_back(s);
    }
    std::string dest = words.back();
    bool slash = dest.back() == '/';
    if (dest[0] != '/') dest = work_dir() + "/" + dest;
    cs.dest = lexical_clean(dest) + (slash ? "/" : "");
    if (cs.dest == "//") cs.dest = "/";
    // Names are resolved once the rootfs is mounted (layer_step), against its own files.
    if (!chown.empty() && (chown.front() == ':' || chown.back() == ':'))
        return fail(ins, "--chown: expected USER[:GROUP], got '" + chown + "'");
    // Each source is checked before any work, so a bad COPY leaves no bundle behind.
    for (const auto& s : cs.sources)
        if (auto r = context_relative(s); !r) return fail(ins, r.error().str());
    return layer_step(ins, ins.keyword + " " + join(words), {}, cs, chown);
}

void Builder::config_only(const Instruction& ins) {
    spec::History h;
    h.created_by = ins.keyword + " " + (ins.json ? nlohmann::json(ins.args).dump() : ins.text());
    h.empty_layer = true;
    // The step's effect is already in the config the key covers; the cache gives back the
    // history entry's timestamp, so that an unchanged rebuild has the same digest.
    std::string key = cache_key(cfg_, nlohmann::json{{"config", h.created_by}}.dump());
    if (from_cache(key, h.created_by, false)) return;
    h.created = spec::created_now();
    cfg_.history.push_back(h);
    to_cache(key);
}

// --- build cache hooks ---------------------------------------------------------------------

// What a layer step depends on besides the image so far; "" when it cannot be cached.
std::string Builder::layer_key(const Instruction& ins, const std::string& created_by,
                               const std::vector<std::string>& run_argv,
                               const std::optional<CopySpec>& copy,
                               const std::string& chown) const {
    nlohmann::json j = {{"created_by", created_by}, {"flags", ins.flags}};
    if (!run_argv.empty()) {
        j["argv"] = run_argv;
        j["args"] = args_;  // the stage's ARG values are in the RUN's environment
    }
    if (copy) {
        for (const auto& f : ins.flags)
            // Sources in another stage or image: not the context, so no digest of them yet.
            if (f.rfind("from", 0) == 0) return "";
        j["sources"] = copy->sources;
        j["dest"] = copy->dest;
        j["mode"] = copy->mode ? int(*copy->mode) : -1;
        j["chown"] = chown;
        UniqueFd ctx(open(o_.context.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!ctx) return "";
        // Unreadable sources: not cached; copy_into then says what is wrong with them.
        auto files =
            copy_sources_digest(ctx.get(), *copy, copy_memo_file(store_, o_.context, *copy));
        if (!files) return "";
        j["files"] = *files;
    }
    return cache_key(cfg_, j.dump());
}

// On a hit the cached layer and history entry become the image's, and nothing runs.
bool Builder::from_cache(const std::string& key, const std::string& created_by, bool layer) {
    if (key.empty() || o_.no_cache) return false;
    auto e = cache_lookup(store_, key);
    if (e && *e && ((*e)->history.created_by != created_by || bool((*e)->layer) != layer))
        e = error("'" + build_cache_dir(store_) + "/" + key + ".json': another step's entry");
    if (!e) {
        std::fprintf(stderr, "warning: build cache entry %s: %s; the step runs again\n",
                     key.substr(0, 12).c_str(), e.error().str().c_str());
        return false;
    }
    if (!*e) return false;
    if (layer) {
        layers_.push_back(*(*e)->layer);
        cfg_.rootfs.diff_ids.push_back(*(*e)->diff_id);
    }
    cfg_.history.push_back((*e)->history);
    if (!o_.quiet) std::fprintf(stderr, "--> CACHED\n");
    return true;
}

// Only completed steps get here. A cache that cannot be written costs speed, not the build.
void Builder::to_cache(const std::string& key) {
    if (key.empty()) return;
    CacheEntry e{cfg_.history.back(), std::nullopt, std::nullopt};
    if (!e.history.empty_layer) {
        e.layer = layers_.back();
        e.diff_id = cfg_.rootfs.diff_ids.back();
    }
    if (auto st = cache_record(store_, key, e); !st)
        std::fprintf(stderr, "warning: build cache: %s\n", st.error().str().c_str());
}

Status Builder::step(const Instruction& ins) {
    const std::string& k = ins.keyword;
    if (k == "ARG") {
        auto kv = key_values(ins, vars(), df_.escape);
        if (!kv) return fail(ins, kv.error().str());
        for (const auto& [name, def] : *kv) {
            std::optional<std::string> v = def;
            if (auto it = o_.build_args.find(name); it != o_.build_args.end()) v = it->second;
            if (!v && have_from_)
                if (auto it = meta_args_.find(name); it != meta_args_.end()) v = it->second;
            auto& target = have_from_ ? args_ : meta_args_;
            target[name] = v.value_or("");
        }
        // In a stage ARG is a history entry (Docker and buildah both record it).
        if (have_from_) config_only(ins);
        return ok();
    }
    if (k == "FROM") return from(ins);
    if (!have_from_) return fail(ins, "instruction before FROM");
    if (k == "RUN") return run_step(ins);
    if (k == "COPY" || k == "ADD") return copy(ins);
    if (k == "ENV" || k == "LABEL") {
        auto kv = key_values(ins, vars(), df_.escape);
        if (!kv) return fail(ins, kv.error().str());
        for (const auto& [name, v] : *kv) {
            if (k == "ENV")
                set_env(cc(), name, v.value_or(""));
            else
                cc().labels[name] = v.value_or("");
        }
    } else if (k == "WORKDIR") {
        auto w = expand_word(ins.text(), vars(), df_.escape);
        if (!w) return fail(ins, w.error().str());
        cc().working_dir = lexical_clean((*w)[0] == '/' ? *w : work_dir() + "/" + *w);
    } else if (k == "USER") {
        auto w = expand_word(ins.text(), vars(), df_.escape);
        if (!w) return fail(ins, w.error().str());
        cc().user = *w;
    } else if (k == "CMD" || k == "ENTRYPOINT") {
        std::vector<std::string> argv;
        if (ins.json) {
            argv = ins.args;
        } else {
            argv = cc().shell.value_or(std::vector<std::string>{"/bin/sh", "-c"});
            argv.push_back(ins.text());
        }
        if (k == "CMD") {
            cc().cmd = argv;
        } else {
            cc().entrypoint = argv;
            // The reference: an ENTRYPOINT resets a CMD inherited from the base image.
            if (!cmd_set_here_) cc().cmd.reset();
        }
        if (k == "CMD") cmd_set_here_ = true;
    } else if (k == "EXPOSE") {
        auto w = expand_words(ins.text(), vars(), df_.escape);
        if (!w) return fail(ins, w.error().str());
        for (auto p : *w) {
            if (p.find('/') == std::string::npos) p += "/tcp";
            bool have = false;
            for (const auto& e : cc().exposed_ports)
                have = have || e == p;
            if (!have) cc().exposed_ports.push_back(p);
        }
    } else if (k == "VOLUME") {
        std::vector<std::string> vols = ins.json ? ins.args : std::vector<std::string>{};
        if (!ins.json) {
            auto w = expand_words(ins.text(), vars(), df_.escape);
            if (!w) return fail(ins, w.error().str());
            vols = *w;
        }
        for (const auto& v : vols)
            cc().volumes.push_back(v);
    } else if (k == "STOPSIGNAL") {
        auto w = expand_word(ins.text(), vars(), df_.escape);
        if (!w) return fail(ins, w.error().str());
        cc().stop_signal = *w;
    } else if (k == "SHELL") {
        cc().shell = ins.args;
    } else {
        return fail(ins, "not supported yet");
    }
    config_only(ins);
    return ok();
}

Result<spec::Descriptor> Builder::run() {
    // Held for the whole build: gc must not remove the blobs of cache hits before the image
    // that uses them is named (gc --build-cache waits too).
    auto lock = TRY(store_.shared());
    work_ = store_.dir() + "/.berth/builds/" + std::to_string(getpid());
    TRY(mkdir_p(work_ + "/run", 0700));
    auto ref = TRY(Reference::parse("localhost/berth-build-tmp-" + std::to_string(getpid())));
    tmp_name_ = ref.str();
    size_t n = 0;
    for (const auto& ins : df_.instructions) {
        if (interrupted) return error("interrupted before " + df_.where(ins));
        ++n;
        if (!o_.quiet)
            std::fprintf(stderr, "STEP %zu/%zu: %s %s\n", n, df_.instructions.size(),
                         ins.keyword.c_str(),
                         ins.json ? join(ins.args).c_str() : ins.text().c_str());
        TRY(step(ins));
    }
    // The last step's time, as Docker's classic builder has it: a rebuild that the cache
    // answers entirely is the same image, with the same digest.
    cfg_.created = cfg_.history.empty() || cfg_.history.back().created.empty()
                       ? spec::created_now()
                       : cfg_.history.back().created;
    std::optional<spec::Descriptor> desc;
    for (const auto& t : o_.tags) {
        if (!desc)
            desc = TRY(store_.put_image(t, cfg_, layers_));
        else
            TRY(store_.set_name(t, *desc));
    }
    if (!desc) {
        // Untagged: stored under the temporary name for the digest, then unnamed (gc collects
        // it, as Docker's dangling images).
        desc = TRY(store_.put_image(tmp_name_, cfg_, layers_));
    }
    cleanup();
    return *desc;
}

}  // namespace

Result<spec::Descriptor> build_image(Store& store, const BuildOptions& opts) {
    auto text = read_file(opts.dockerfile, 4u << 20);
    if (!text) return std::move(text).error().with_context("read Dockerfile");
    auto df = TRY(parse_dockerfile(*text, opts.dockerfile));
    Builder b(store, opts, std::move(df));
    return b.run();
}

}  // namespace berth::image::build
