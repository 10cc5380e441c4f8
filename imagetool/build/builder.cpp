// The build loop. Each stage's image so far lives in memory (config + layer descriptors); a
// step that makes a layer stores it under a private temporary name, unpacks it as a snapshot
// bundle, changes the bundle (RUN through `berth run`, COPY through copy.cpp) and commits the
// change. Stages run on demand: the target first, and an earlier stage when a FROM or a
// COPY --from reaches it. The temporary names are removed at the end whatever happens, so a
// failed build names nothing.
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
#include "base/mountinfo.hpp"
#include "imagetool/build/cache.hpp"
#include "imagetool/build/copy.hpp"
#include "imagetool/build/dockerfile.hpp"
#include "imagetool/build/dockerignore.hpp"
#include "imagetool/build/instructions.hpp"
#include "imagetool/build/stages.hpp"
#include "imagetool/bundle/commit.hpp"
#include "imagetool/bundle/snapshot.hpp"
#include "imagetool/bundle/unpack.hpp"
#include "imagetool/bundle/user.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/registry/pull.hpp"

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

// The history text of a config-only step: the instruction as written (JSON forms as JSON).
std::string history_text(const Instruction& ins) {
    std::string flags;
    for (const auto& f : ins.flags)
        flags += "--" + f + " ";
    if (ins.keyword == "HEALTHCHECK") {
        if (ins.args.size() == 1 && ins.args[0] == "NONE") return "HEALTHCHECK NONE";
        std::vector<std::string> rest(ins.args.begin() + 1, ins.args.end());
        return "HEALTHCHECK " + flags + "CMD " +
               (ins.json ? nlohmann::json(rest).dump() : join(rest));
    }
    return ins.keyword + " " + flags + (ins.json ? nlohmann::json(ins.args).dump() : ins.text());
}

// BuildKit's automatic platform ARGs: visible before the first FROM, and in a stage once it
// declares them (`ARG TARGETARCH`).
std::map<std::string, std::string> platform_args() {
    auto p = spec::host_platform();
    std::string plat = p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
    std::map<std::string, std::string> m;
    for (const char* pre : {"BUILD", "TARGET"}) {
        std::string k = pre;
        m[k + "PLATFORM"] = plat;
        m[k + "OS"] = p.os;
        m[k + "ARCH"] = p.architecture;
        m[k + "VARIANT"] = p.variant;
    }
    return m;
}

// What one layer step does to the bundle: a RUN command, a COPY/ADD, or both empty (a
// layer with nothing changed).
struct StepWork {
    std::vector<std::string> run_argv;
    bool host_network = false;
    std::optional<CopySpec> copy;
    std::string chown;
    int source_fd = -1;  // the context or a source rootfs, for copy
    // COPY --from: what identifies the source rootfs for the cache (the key of its config,
    // whose diff_ids name every layer); empty for the context.
    std::string from_key;
};

// One stage being built.
struct StageState {
    const Stage* stage = nullptr;
    std::map<std::string, std::string> args;  // ARG in the stage, with values
    spec::ImageConfig cfg;
    std::vector<spec::Descriptor> layers;
    bool cmd_set_here = false;
};

struct StageResult {
    spec::ImageConfig cfg;
    std::vector<spec::Descriptor> layers;
};

class Builder {
  public:
    Builder(Store& store, const BuildOptions& o, Dockerfile df)
        : store_(store), o_(o), df_(std::move(df)), auto_args_(platform_args()) {}
    ~Builder() { cleanup(); }

    Result<spec::Descriptor> run();

  private:
    Status ensure_stage(size_t index);
    Status step(const Instruction& ins);
    Status arg(const Instruction& ins);
    Status from(const Instruction& ins);
    Status layer_step(const Instruction& ins, const std::string& created_by, StepWork work);
    Status copy(const Instruction& ins);
    Status run_step(const Instruction& ins);
    void config_only(const Instruction& ins);
    // Build cache hooks (cache.hpp): a step is looked up before it runs, recorded after.
    std::string layer_key(const Instruction& ins, const std::string& created_by,
                          const StepWork& work) const;
    bool from_cache(const std::string& key, const std::string& created_by, bool layer);
    void to_cache(const std::string& key);
    Result<Image> resolve_image(const Instruction& ins, const std::string& ref,
                                const std::string& what);
    Result<UniqueFd> mount_source(const Instruction& ins, const std::string& from,
                                  std::string& from_key);
    void release_source();
    Error fail(const Instruction& ins, const std::string& msg) const {
        return error(df_.where(ins) + ": " + ins.keyword + ": " + msg);
    }
    void print_step(const Instruction& ins, const std::string& prefix = "") const;
    Lookup vars() const;
    std::string work_dir() const { return cc().working_dir.empty() ? "/" : cc().working_dir; }
    spec::ContainerConfig& cc() { return *cur_->cfg.config; }
    const spec::ContainerConfig& cc() const { return *cur_->cfg.config; }
    void cleanup();

    Store& store_;
    const BuildOptions& o_;
    Dockerfile df_;
    std::map<std::string, std::string> auto_args_;  // TARGETARCH, ...
    std::map<std::string, std::string> meta_args_;  // ARG before FROM
    std::vector<Stage> stages_;
    std::map<size_t, StageResult> results_;
    StageState* cur_ = nullptr;  // the stage being built (stages nest: FROM/COPY --from)
    UniqueFd context_;
    IgnoreRules ignore_;
    StoreLock lock_;
    std::string tmp_name_;
    std::string src_name_;  // COPY --from: the source stage or image, for its snapshot
    std::string work_;      // <store>/.berth/builds/<pid>
    std::string bundle_;
    std::string src_bundle_;
    std::string ctr_;
    int steps_ = 0;
};

Lookup Builder::vars() const {
    std::map<std::string, std::string> m;
    if (!cur_) {
        m = auto_args_;
        for (const auto& [k, v] : meta_args_)
            m[k] = v;
    } else {
        // ENV wins over ARG, as the reference says.
        m = cur_->args;
        for (const auto& e : cc().env) {
            auto eq = e.find('=');
            if (eq != std::string::npos) m[e.substr(0, eq)] = e.substr(eq + 1);
        }
    }
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(m));
    return [shared](const std::string& k) -> std::optional<std::string> {
        auto it = shared->find(k);
        if (it == shared->end()) return std::nullopt;
        return it->second;
    };
}

void Builder::print_step(const Instruction& ins, const std::string& prefix) const {
    if (o_.quiet) return;
    std::string stage = cur_ && stages_.size() > 1 ? " [" + cur_->stage->label() + "]" : "";
    std::string text = history_text(ins);
    if (ins.keyword == "RUN" && ins.json) {
        std::string flags;
        for (const auto& f : ins.flags)
            flags += "--" + f + " ";
        text = "RUN " + flags + join(ins.args);
    }
    std::fprintf(stderr, "STEP %d%s: %s%s\n", ins.line, stage.c_str(), prefix.c_str(),
                 text.c_str());
}

void Builder::release_source() {
    // On failure the name stays, for cleanup() to try again.
    if (!src_bundle_.empty() && bundle::umount_snapshot(src_bundle_)) src_bundle_.clear();
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
    release_source();
    src_bundle_.clear();
    for (auto* n : {&tmp_name_, &src_name_}) {
        if (n->empty()) continue;
        (void)store_.remove_name(*n);
        n->clear();
    }
    if (!work_.empty()) {
        (void)remove_all(work_);
        work_.clear();
    }
}

Result<Image> Builder::resolve_image(const Instruction& ins, const std::string& ref,
                                     const std::string& what) {
    if (store_.lookup(ref)) {
        auto img = store_.load_image(ref);
        if (!img) return fail(ins, what + " '" + ref + "': " + img.error().str());
        return img;
    }
    auto r = Reference::parse(ref);
    if (!r) return fail(ins, what + " '" + ref + "': " + r.error().str());
    PullOptions po;
    if (o_.registry) {
        auto ro = o_.registry(r->registry);
        if (!ro) return fail(ins, what + " '" + ref + "': " + ro.error().str());
        po.registry = *ro;
    }
    if (!o_.quiet) std::fprintf(stderr, "Pulling %s\n", r->str().c_str());
    auto pulled = pull_image(store_, *r, po);
    if (!pulled)
        return fail(ins, what + " '" + ref +
                             "': not in the store, and pulling it failed: " + pulled.error().str());
    auto img = store_.load_image(pulled->name);
    if (!img) return fail(ins, what + " '" + ref + "': " + img.error().str());
    return img;
}

Status Builder::ensure_stage(size_t index) {
    if (results_.count(index)) return ok();
    const Stage& s = stages_[index];
    StageState st;
    st.stage = &s;
    StageState* outer = cur_;
    cur_ = &st;
    struct Restore {
        StageState*& cur;
        StageState* outer;
        ~Restore() { cur = outer; }
    } restore{cur_, outer};
    TRY(from(df_.instructions[s.from]));
    for (size_t i = s.from + 1; i < s.end; ++i) {
        const Instruction& ins = df_.instructions[i];
        if (interrupted) return error("interrupted before " + df_.where(ins));
        print_step(ins);
        TRY(step(ins));
    }
    results_[index] = StageResult{std::move(st.cfg), std::move(st.layers)};
    return ok();
}

Status Builder::arg(const Instruction& ins) {
    auto kv = key_values(ins, vars(), df_.escape);
    if (!kv) return fail(ins, kv.error().str());
    for (const auto& [name, def] : *kv) {
        std::optional<std::string> v = def;
        if (auto it = o_.build_args.find(name); it != o_.build_args.end()) v = it->second;
        // In a stage, a bare `ARG NAME` takes the global ARG's value, then the automatic one.
        if (!v && cur_)
            if (auto it = meta_args_.find(name); it != meta_args_.end()) v = it->second;
        if (!v)
            if (auto it = auto_args_.find(name); it != auto_args_.end()) v = it->second;
        (cur_ ? cur_->args : meta_args_)[name] = v.value_or("");
    }
    // In a stage ARG is a history entry (Docker and buildah both record it).
    if (cur_) config_only(ins);
    return ok();
}

Status Builder::from(const Instruction& ins) {
    StageState& st = *cur_;
    const Stage& s = *st.stage;
    print_step(ins);
    {
        // FROM sees only the global ARGs.
        StageState* self = cur_;
        cur_ = nullptr;
        auto meta = vars();
        cur_ = self;
        for (const auto& f : ins.flags) {
            auto eq = f.find('=');
            if (f.compare(0, eq, "platform") != 0) return fail(ins, "unknown flag --" + f);
            auto p = expand_word(eq == std::string::npos ? "" : f.substr(eq + 1), meta, df_.escape);
            if (!p) return fail(ins, "--platform: " + p.error().str());
            if (auto c = check_platform(*p); !c) return fail(ins, "--platform: " + c.error().str());
        }
    }
    if (s.base == "scratch") {
        st.cfg = {};
        auto p = spec::host_platform();
        st.cfg.os = p.os;
        st.cfg.architecture = p.architecture;
        st.cfg.variant = p.variant;
    } else if (auto j = find_stage(stages_, s.base, s.index)) {
        TRY(ensure_stage(*j));
        st.cfg = results_[*j].cfg;
        st.layers = results_[*j].layers;
    } else {
        Image img = TRY(resolve_image(ins, s.base, "base image"));
        st.cfg = img.config;
        st.layers = img.layers();
    }
    if (!st.cfg.config) st.cfg.config = spec::ContainerConfig{};
    // The base's ONBUILD triggers run now, before the stage's own instructions, and are not
    // passed on (Docker and BuildKit both clear them).
    auto triggers = st.cfg.config->on_build.value_or(std::vector<std::string>{});
    st.cfg.config->on_build.reset();
    for (const auto& t : triggers) {
        auto ti = parse_instruction(t, df_.file, ins.line, df_.escape);
        if (!ti) return fail(ins, "ONBUILD trigger of '" + s.base + "': " + ti.error().str());
        print_step(*ti, "ONBUILD ");
        TRY(step(*ti));
    }
    return ok();
}

Status Builder::layer_step(const Instruction& ins, const std::string& created_by, StepWork work) {
    ++steps_;
    std::string key = layer_key(ins, created_by, work);
    if (from_cache(key, created_by, true)) return ok();
    spec::ImageConfig base = cur_->cfg;
    // RUN sees the stage's ARGs in its environment, but they are not part of the image.
    if (!work.run_argv.empty())
        for (const auto& [k, v] : cur_->args) {
            bool in_env = false;
            for (const auto& e : cc().env)
                in_env = in_env || e.compare(0, k.size() + 1, k + "=") == 0;
            if (!in_env) base.config->env.push_back(k + "=" + v);
        }
    // COPY/ADD run nothing: the USER need not resolve (`FROM scratch` has no passwd).
    if (work.run_argv.empty()) base.config->user.clear();
    TRY(store_.put_image(tmp_name_, base, cur_->layers));
    bundle_ = work_ + "/step-" + std::to_string(steps_);
    bundle::UnpackOptions uo;
    uo.snapshot = true;
    uo.bundle.entrypoint =
        work.run_argv.empty() ? std::vector<std::string>{"/bin/true"} : work.run_argv;
    uo.bundle.host_network = work.host_network;
    uo.bundle.engine_capabilities = true;
    auto up = bundle::unpack_image(store_, tmp_name_, bundle_, uo);
    if (!up) {
        bundle_.clear();
        return fail(ins, up.error().str());
    }
    if (!work.run_argv.empty()) {
        ctr_ = "berth-build-" + std::to_string(getpid()) + "-" + std::to_string(steps_);
        int rc = TRY(
            run_program({o_.berth, "--root", work_ + "/run", "run", "--bundle", bundle_, ctr_}));
        (void)run_program({o_.berth, "--root", work_ + "/run", "delete", "--force", ctr_});
        ctr_.clear();
        if (interrupted) return fail(ins, "interrupted");
        if (rc != 0)
            return fail(ins, "'" + join(work.run_argv) +
                                 "' returned a non-zero code: " + std::to_string(rc));
    }
    if (work.copy) {
        UniqueFd root(open((bundle_ + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return fail(ins, sys_error("open " + bundle_ + "/rootfs").str());
        CopySpec& cs = *work.copy;
        const std::string& chown = work.chown;
        if (!chown.empty()) {
            // Without a group, a number is also the gid and a name gives its passwd entry's
            // group: what BuildKit does (the reference says "the same numeric UID as GID").
            auto colon = chown.find(':');
            std::string user = chown.substr(0, colon);
            auto u = bundle::resolve_user(root.get(), user);
            if (!u) return fail(ins, "--chown: " + u.error().str());
            cs.uid = u->uid;
            cs.gid = user.find_first_not_of("0123456789") == std::string::npos ? u->uid : u->gid;
            if (colon != std::string::npos) {
                auto gr = bundle::resolve_user(root.get(), "0:" + chown.substr(colon + 1));
                if (!gr) return fail(ins, "--chown: " + gr.error().str());
                cs.gid = gr->gid;
            }
        }
        if (auto st = copy_into(work.source_fd, root.get(), cs); !st)
            return fail(ins, st.error().str());
    }
    bundle::CommitOptions co;
    co.message = created_by;
    auto cr = bundle::commit_bundle(store_, bundle_, tmp_name_, co);
    if (!cr) return fail(ins, cr.error().str());
    auto img = store_.load_image(tmp_name_);
    if (!img) return fail(ins, img.error().str());
    auto keep = cur_->cfg.config;
    cur_->cfg = img->config;
    cur_->cfg.config = keep;
    cur_->layers = img->layers();
    TRY(bundle::umount_snapshot(bundle_));
    bundle_.clear();
    to_cache(key);
    return ok();
}

Status Builder::run_step(const Instruction& ins) {
    StepWork w;
    w.host_network = o_.host_network;
    for (const auto& f : ins.flags) {
        if (f == "network=host") {
            w.host_network = true;
        } else if (f == "network=none") {
            w.host_network = false;
        } else if (f == "network=default") {
        } else if (f.rfind("network", 0) == 0) {
            return fail(ins, "--" + f + ": expected none, host or default");
        } else {
            return fail(ins, "flag --" + f + " is not supported yet");
        }
    }
    if (ins.json) {
        w.run_argv = ins.args;
    } else {
        w.run_argv = cc().shell.value_or(std::vector<std::string>{"/bin/sh", "-c"});
        w.run_argv.push_back(ins.text());
    }
    if (w.run_argv.empty()) return fail(ins, "empty command");
    std::string created_by = "RUN " + join(w.run_argv);
    return layer_step(ins, created_by, std::move(w));
}

// COPY --from: a stage (by name, or index among the earlier ones) or an image (from the
// store, else pulled). Mounted as a snapshot bundle until the step is done.
Result<UniqueFd> Builder::mount_source(const Instruction& ins, const std::string& from,
                                       std::string& from_key) {
    const Stage& me = *cur_->stage;
    spec::ImageConfig cfg;
    std::vector<spec::Descriptor> layers;
    if (auto j = find_stage(stages_, from, me.index)) {
        TRY(ensure_stage(*j));
        cfg = results_[*j].cfg;
        layers = results_[*j].layers;
    } else {
        if (find_stage(stages_, from, stages_.size()))
            return fail(ins,
                        "--from=" + from + ": stage '" + from + "' is not defined before this one");
        // A bare word (no registry, tag or digest) that names no stage is a typo far more
        // often than docker.io/library/WORD: not pulled unless the store has it.
        bool bare = from.find_first_of("/:@.") == std::string::npos;
        if (bare && !store_.lookup(from))
            return fail(ins, "--from=" + from +
                                 ": no stage of that name (stages: " + stage_list(stages_) +
                                 ") and no image '" + from + "' in the store");
        Image img = TRY(resolve_image(ins, from, "--from image"));
        cfg = img.config;
        layers = img.layers();
    }
    // The source's config names its layers (diff_ids) and so its whole rootfs.
    from_key = cache_key(cfg, "copy-from");
    // Only read from: its USER need not exist in its passwd for the bundle's config.
    if (cfg.config) cfg.config->user.clear();
    TRY(store_.put_image(src_name_, cfg, layers));
    src_bundle_ = work_ + "/source-" + std::to_string(++steps_);
    bundle::UnpackOptions uo;
    uo.snapshot = true;
    uo.bundle.entrypoint = std::vector<std::string>{"/bin/true"};
    auto up = bundle::unpack_image(store_, src_name_, src_bundle_, uo);
    if (!up) {
        src_bundle_.clear();
        return fail(ins, "--from=" + from + ": " + up.error().str());
    }
    UniqueFd root(open((src_bundle_ + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(ins, sys_error("open " + src_bundle_ + "/rootfs").str());
    return root;
}

Status Builder::copy(const Instruction& ins) {
    CopySpec cs;
    std::string chown;
    std::optional<std::string> from;
    for (const auto& f : ins.flags) {
        auto eq = f.find('=');
        std::string k = f.substr(0, eq), v = eq == std::string::npos ? "" : f.substr(eq + 1);
        if (k == "chown") {
            auto w = expand_word(v, vars(), df_.escape);
            if (!w) return fail(ins, "--chown: " + w.error().str());
            chown = *w;
        } else if (k == "chmod") {
            char* end = nullptr;
            unsigned long m = std::strtoul(v.c_str(), &end, 8);
            if (v.empty() || *end || m > 07777) return fail(ins, "--chmod: bad mode '" + v + "'");
            cs.mode = mode_t(m);
        } else if (k == "from") {
            auto w = expand_word(v, vars(), df_.escape);
            if (!w) return fail(ins, "--from: " + w.error().str());
            if (w->empty()) return fail(ins, "--from needs a stage or an image");
            from = *w;
        } else if (k == "link" && (v.empty() || v == "true")) {
            // --link only changes how BuildKit assembles the layer, not what is in it.
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
    std::vector<std::string> sources(words.begin(), words.end() - 1);
    for (const auto& s : sources)
        if (s.find("://") != std::string::npos)
            return fail(ins, "remote source '" + s +
                                 "': URLs are not supported (a build has no network here); "
                                 "download it into the context");
    std::string dest = words.back();
    bool slash = dest.back() == '/';
    bool dir_dest = slash || dest == "." || dest == ".." ||
                    (dest.size() >= 2 && dest.compare(dest.size() - 2, 2, "/.") == 0);
    if (sources.size() > 1 && !dir_dest)
        return fail(ins,
                    "with more than one source the destination must be a directory "
                    "ending in '/', not '" +
                        dest + "'");
    if (dest[0] != '/') dest = work_dir() + "/" + dest;
    cs.dest = clean_path(dest) + (dir_dest ? "/" : "");
    if (cs.dest == "//") cs.dest = "/";
    // Names are resolved once the rootfs is mounted (layer_step), against its own files.
    if (!chown.empty() && (chown.front() == ':' || chown.back() == ':'))
        return fail(ins, "--chown: expected USER[:GROUP], got '" + chown + "'");

    UniqueFd src;
    std::string from_key;
    if (from) {
        src = TRY(mount_source(ins, *from, from_key));
        cs.from_rootfs = true;
        cs.keep_owner = chown.empty();
    } else {
        src = UniqueFd(fcntl(context_.get(), F_DUPFD_CLOEXEC, 0));
        if (!src) return fail(ins, sys_error("dup context fd").str());
        cs.ignore = &ignore_;
        cs.unpack_archives = ins.keyword == "ADD";
    }
    // Wildcards are expanded against the source now; each source is checked before any work,
    // so a bad COPY leaves no bundle behind.
    for (const auto& s : sources) {
        if (has_wildcard(s)) {
            auto m = expand_source(src.get(), s, cs.from_rootfs, cs.ignore);
            if (!m) return fail(ins, "source '" + s + "': " + m.error().str());
            if (m->empty()) return fail(ins, "source '" + s + "': no file matches");
            for (auto& x : *m)
                cs.sources.push_back(std::move(x));
            continue;
        }
        if (!cs.from_rootfs)
            if (auto r = context_relative(s); !r) return fail(ins, r.error().str());
        cs.sources.push_back(s);
    }
    StepWork w;
    w.copy = std::move(cs);
    w.chown = chown;
    w.source_fd = src.get();
    w.from_key = from_key;
    std::string created_by =
        ins.keyword + " " + (from ? "--from=" + *from + " " : "") + join(words);
    auto st = layer_step(ins, created_by, std::move(w));
    src.reset();  // an open fd in the source's rootfs keeps it from being unmounted
    release_source();
    return st;
}

void Builder::config_only(const Instruction& ins) {
    spec::History h;
    h.created_by = history_text(ins);
    h.empty_layer = true;
    // The step's effect is already in the config the key covers; the cache gives back the
    // history entry's timestamp, so that an unchanged rebuild has the same digest.
    std::string key = cache_key(cur_->cfg, nlohmann::json{{"config", h.created_by}}.dump());
    if (from_cache(key, h.created_by, false)) return;
    h.created = spec::created_now();
    cur_->cfg.history.push_back(h);
    to_cache(key);
}

// --- build cache hooks ---------------------------------------------------------------------

// What a layer step depends on besides the image so far; "" when it cannot be cached.
std::string Builder::layer_key(const Instruction& ins, const std::string& created_by,
                               const StepWork& work) const {
    nlohmann::json j = {{"created_by", created_by}, {"flags", ins.flags}};
    if (!work.run_argv.empty()) {
        j["argv"] = work.run_argv;
        j["args"] = cur_->args;  // the stage's ARG values are in the RUN's environment
        // What the RUN could reach decides what it may have fetched.
        j["host_network"] = work.host_network;
    }
    if (work.copy) {
        const CopySpec& cs = *work.copy;
        j["sources"] = cs.sources;  // wildcards already expanded
        j["dest"] = cs.dest;
        j["mode"] = cs.mode ? int(*cs.mode) : -1;
        j["chown"] = work.chown;
        j["unpack"] = cs.unpack_archives;
        if (cs.from_rootfs) {
            // Another stage or image: its config identifies every file in it.
            if (work.from_key.empty()) return "";
            j["from"] = work.from_key;
        } else {
            // Unreadable sources: not cached; copy_into then says what is wrong with them.
            auto files =
                copy_sources_digest(work.source_fd, cs, copy_memo_file(store_, o_.context, cs));
            if (!files) return "";
            j["files"] = *files;
        }
    }
    return cache_key(cur_->cfg, j.dump());
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
        cur_->layers.push_back(*(*e)->layer);
        cur_->cfg.rootfs.diff_ids.push_back(*(*e)->diff_id);
    }
    cur_->cfg.history.push_back((*e)->history);
    if (!o_.quiet) std::fprintf(stderr, "--> CACHED\n");
    return true;
}

// Only completed steps get here. A cache that cannot be written costs speed, not the build.
void Builder::to_cache(const std::string& key) {
    if (key.empty()) return;
    CacheEntry e{cur_->cfg.history.back(), std::nullopt, std::nullopt};
    if (!e.history.empty_layer) {
        e.layer = cur_->layers.back();
        e.diff_id = cur_->cfg.rootfs.diff_ids.back();
    }
    if (auto st = cache_record(store_, key, e); !st)
        std::fprintf(stderr, "warning: build cache: %s\n", st.error().str().c_str());
}

Status Builder::step(const Instruction& ins) {
    const std::string& k = ins.keyword;
    if (k == "ARG") return arg(ins);
    if (k == "RUN") return run_step(ins);
    if (k == "COPY" || k == "ADD") return copy(ins);
    if (!is_config_instruction(k)) return fail(ins, "not supported here");
    if (auto st = apply_config(cur_->cfg, ins, vars(), df_.escape, cur_->cmd_set_here); !st)
        return fail(ins, st.error().str());
    config_only(ins);
    return ok();
}

Result<spec::Descriptor> Builder::run() {
    work_ = store_.dir() + "/.berth/builds/" + std::to_string(getpid());
    TRY(mkdir_p(work_ + "/run", 0700));
    // Shared, as pull and import hold it: gc waits, so the unnamed layers of finished
    // steps and stages stay until the build names its image.
    lock_ = TRY(store_.shared());
    std::string pid = std::to_string(getpid());
    tmp_name_ = TRY(Reference::parse("localhost/berth-build-tmp-" + pid)).str();
    src_name_ = TRY(Reference::parse("localhost/berth-build-src-" + pid)).str();
    context_ = UniqueFd(open(o_.context.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!context_) return sys_error("open context '" + o_.context + "'");
    ignore_ = TRY_CTX(IgnoreRules::read(context_.get()), o_.context);

    size_t first = 0;
    for (; first < df_.instructions.size() && df_.instructions[first].keyword != "FROM"; ++first)
        TRY(arg(df_.instructions[first]));
    stages_ = TRY(split_stages(df_, vars()));
    size_t target = stages_.size() - 1;
    if (!o_.target.empty()) {
        auto t = find_stage(stages_, o_.target, stages_.size());
        if (!t)
            return error(df_.file + ": --target '" + o_.target +
                         "': no such stage (stages: " + stage_list(stages_) + ")");
        target = *t;
    }
    TRY(ensure_stage(target));
    StageResult& r = results_[target];
    // The last step's time, as Docker's classic builder has it: a rebuild that the cache
    // answers entirely is the same image, with the same digest.
    r.cfg.created = r.cfg.history.empty() || r.cfg.history.back().created.empty()
                        ? spec::created_now()
                        : r.cfg.history.back().created;
    std::optional<spec::Descriptor> desc;
    for (const auto& t : o_.tags) {
        if (!desc)
            desc = TRY(store_.put_image(t, r.cfg, r.layers));
        else
            TRY(store_.set_name(t, *desc));
    }
    if (!desc) {
        // Untagged: stored under the temporary name for the digest, then unnamed (gc collects
        // it, as Docker's dangling images).
        desc = TRY(store_.put_image(tmp_name_, r.cfg, r.layers));
    }
    cleanup();
    return *desc;
}

}  // namespace

Status check_platform(std::string_view text) {
    auto p = TRY(spec::parse_platform(text));
    auto h = spec::host_platform();
    if (p.os != h.os || p.architecture != h.architecture ||
        (!p.variant.empty() && p.variant != h.variant))
        return error("platform '" + std::string(text) + "' is not this host's (" + h.os + "/" +
                     h.architecture + (h.variant.empty() ? "" : "/" + h.variant) +
                     "): RUN steps execute here, so only the host's platform is built");
    return ok();
}

Result<spec::Descriptor> build_image(Store& store, const BuildOptions& opts) {
    auto text = read_file(opts.dockerfile, 4u << 20);
    if (!text) return std::move(text).error().with_context("read Dockerfile");
    auto df = TRY(parse_dockerfile(*text, opts.dockerfile));
    Builder b(store, opts, std::move(df));
    return b.run();
}

}  // namespace berth::image::build
