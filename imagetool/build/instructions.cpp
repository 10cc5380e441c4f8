// Config-only instructions. HEALTHCHECK follows Docker's container.HealthConfig: Test is
// ["NONE"], ["CMD", args...] or ["CMD-SHELL", text]; zero durations and retries are left
// out (omitempty), meaning "the engine's default".
#include "imagetool/build/instructions.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/in_root.hpp"
#include "base/mountinfo.hpp"

namespace berth::image::build {
namespace {

void set_env(spec::ContainerConfig& cc, const std::string& k, const std::string& v) {
    for (auto& e : cc.env)
        if (e.compare(0, k.size() + 1, k + "=") == 0) {
            e = k + "=" + v;
            return;
        }
    cc.env.push_back(k + "=" + v);
}

std::vector<std::string> command(const spec::ContainerConfig& cc, const Instruction& ins) {
    if (ins.json) return ins.args;
    auto argv = cc.shell.value_or(std::vector<std::string>{"/bin/sh", "-c"});
    argv.push_back(ins.text());
    return argv;
}

Status healthcheck(spec::ContainerConfig& cc, const Instruction& ins) {
    nlohmann::json h = nlohmann::json::object();
    if (ins.args.size() == 1 && ins.args[0] == "NONE") {
        h["Test"] = {"NONE"};
        cc.healthcheck = h;
        return ok();
    }
    // The parser put "CMD" first: ["CMD", argv...] (JSON form) or ["CMD", text].
    std::vector<std::string> test;
    if (ins.json) {
        test = ins.args;
        if (test.size() < 2) return error("HEALTHCHECK CMD needs a command");
    } else {
        test = {"CMD-SHELL", ins.args.size() > 1 ? ins.args[1] : ""};
    }
    h["Test"] = test;
    for (const auto& f : ins.flags) {
        auto eq = f.find('=');
        std::string k = f.substr(0, eq), v = eq == std::string::npos ? "" : f.substr(eq + 1);
        if (k == "retries") {
            char* end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end || n < 0 || n > 1000000)
                return error("--retries: expected a number of at least 0, got '" + v + "'");
            if (n) h["Retries"] = n;
            continue;
        }
        static const std::pair<const char*, const char*> keys[] = {
            {"interval", "Interval"},
            {"timeout", "Timeout"},
            {"start-period", "StartPeriod"},
            {"start-interval", "StartInterval"}};
        const char* key = nullptr;
        for (const auto& [flag, json_key] : keys)
            if (k == flag) key = json_key;
        if (!key) return error("unknown flag --" + k);
        auto d = parse_duration(v);
        if (!d) return error("--" + k + ": " + d.error().str());
        // Docker's rule: a duration given must be at least 1ms (0 means the default).
        if (*d != 0 && *d < 1000000) return error("--" + k + ": cannot be less than 1ms");
        if (*d) h[key] = *d;
    }
    cc.healthcheck = h;
    return ok();
}

}  // namespace

bool is_config_instruction(const std::string& k) {
    for (const char* c : {"ENV", "LABEL", "WORKDIR", "USER", "CMD", "ENTRYPOINT", "EXPOSE",
                          "VOLUME", "STOPSIGNAL", "SHELL", "HEALTHCHECK", "ONBUILD", "MAINTAINER"})
        if (k == c) return true;
    return false;
}

Result<int64_t> parse_duration(std::string_view s) {
    std::string orig(s);
    if (s == "0") return int64_t(0);
    if (s.empty()) return error("invalid duration ''");
    double total = 0;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
            ++i;
        if (i == 0) return error("invalid duration '" + orig + "'");
        double n = 0;
        try {
            n = std::stod(std::string(s.substr(0, i)));
        } catch (const std::exception&) {
            return error("invalid duration '" + orig + "'");
        }
        s.remove_prefix(i);
        size_t u = 0;
        while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.')
            ++u;
        std::string_view unit = s.substr(0, u);
        s.remove_prefix(u);
        double mult = 0;
        if (unit == "ns")
            mult = 1;
        else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
            mult = 1e3;
        else if (unit == "ms")
            mult = 1e6;
        else if (unit == "s")
            mult = 1e9;
        else if (unit == "m")
            mult = 60e9;
        else if (unit == "h")
            mult = 3600e9;
        else
            return error("invalid duration '" + orig + "' (units: ns, us, ms, s, m, h)");
        total += n * mult;
    }
    if (total > 9.2e18) return error("duration '" + orig + "' is too long");
    return int64_t(std::llround(total));
}

Status apply_config(spec::ImageConfig& cfg, const Instruction& ins, const Lookup& vars, char escape,
                    bool& cmd_set_here) {
    if (!cfg.config) cfg.config = spec::ContainerConfig{};
    spec::ContainerConfig& cc = *cfg.config;
    const std::string& k = ins.keyword;
    if (k == "ENV" || k == "LABEL") {
        auto kv = TRY(key_values(ins, vars, escape));
        for (const auto& [name, v] : kv) {
            if (k == "ENV")
                set_env(cc, name, v.value_or(""));
            else
                cc.labels[name] = v.value_or("");
        }
    } else if (k == "WORKDIR") {
        auto w = TRY(expand_word(ins.text(), vars, escape));
        std::string cur = cc.working_dir.empty() ? "/" : cc.working_dir;
        cc.working_dir = clean_path(w[0] == '/' ? w : cur + "/" + w);
    } else if (k == "USER") {
        cc.user = TRY(expand_word(ins.text(), vars, escape));
    } else if (k == "CMD") {
        cc.cmd = command(cc, ins);
        cmd_set_here = true;
    } else if (k == "ENTRYPOINT") {
        cc.entrypoint = command(cc, ins);
        // The reference: an ENTRYPOINT resets a CMD inherited from the base image.
        if (!cmd_set_here) cc.cmd.reset();
    } else if (k == "EXPOSE") {
        for (auto p : TRY(expand_words(ins.text(), vars, escape))) {
            if (p.find('/') == std::string::npos) p += "/tcp";
            bool have = false;
            for (const auto& e : cc.exposed_ports)
                have = have || e == p;
            if (!have) cc.exposed_ports.push_back(p);
        }
    } else if (k == "VOLUME") {
        std::vector<std::string> vols = ins.args;
        if (!ins.json) vols = TRY(expand_words(ins.text(), vars, escape));
        for (const auto& v : vols)
            cc.volumes.push_back(v);
    } else if (k == "STOPSIGNAL") {
        cc.stop_signal = TRY(expand_word(ins.text(), vars, escape));
    } else if (k == "SHELL") {
        cc.shell = ins.args;
    } else if (k == "HEALTHCHECK") {
        TRY(healthcheck(cc, ins));
    } else if (k == "ONBUILD") {
        // As written after ONBUILD, unexpanded: the trigger runs in the image built FROM
        // this one, with that build's variables.
        if (!cc.on_build) cc.on_build = std::vector<std::string>{};
        cc.on_build->push_back(ins.text());
    } else if (k == "MAINTAINER") {
        cfg.author = ins.text();
    } else {
        return error("not supported");
    }
    return ok();
}

}  // namespace berth::image::build
