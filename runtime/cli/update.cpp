// berth update: change a running container's resources, from a LinuxResources JSON file (or
// stdin, as containerd sends it) or from runc's individual flags.
#include <cmath>
#include <cstdlib>

#include "base/file.hpp"
#include "base/log.hpp"
#include "runtime/cli/cgroup_util.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "spec/runtime_config.hpp"

namespace berth::cli {

namespace {

// Sizes as runc reads them (docker's RAMInBytes): "64M", "1.5g", "512KiB", "1024"; binary
// multiples; "-1" is unlimited.
Result<int64_t> parse_size(const std::string& flag, const std::string& s) {
    if (s == "-1") return int64_t{-1};
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
        ++i;
    std::string num = s.substr(0, i), unit = s.substr(i);
    if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0') return error("invalid value '" + s + "' for --" + flag);
    std::string u;
    for (char c : unit)
        u.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (u.size() > 1 && u.back() == 'b') u.pop_back();
    if (u.size() > 1 && u.back() == 'i') u.pop_back();
    static const char* kUnits = "kmgtp";
    double mult = 1;
    if (u == "b" || u.empty()) {
        mult = 1;
    } else if (u.size() == 1 && std::strchr(kUnits, u[0])) {
        mult = std::pow(1024.0, static_cast<double>(std::strchr(kUnits, u[0]) - kUnits + 1));
    } else {
        return error("invalid value '" + s + "' for --" + flag + ": unknown unit '" + unit + "'");
    }
    return static_cast<int64_t>(v * mult);
}

Result<int64_t> parse_int(const std::string& flag, const std::string& s) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0)
        return error("invalid value '" + s + "' for --" + flag);
    return static_cast<int64_t>(v);
}

Result<uint64_t> parse_uint(const std::string& flag, const std::string& s) {
    int64_t v = TRY(parse_int(flag, s));
    if (v < 0) return error("invalid value '" + s + "' for --" + flag + ": must not be negative");
    return static_cast<uint64_t>(v);
}

Result<spec::Resources> from_flags(const Args& a) {
    spec::Resources r;
    auto mem = [&]() -> spec::Memory& {
        if (!r.memory) r.memory.emplace();
        return *r.memory;
    };
    auto cpu = [&]() -> spec::Cpu& {
        if (!r.cpu) r.cpu.emplace();
        return *r.cpu;
    };
    if (a.has("memory")) mem().limit = TRY(parse_size("memory", a.get("memory")));
    if (a.has("memory-reservation"))
        mem().reservation = TRY(parse_size("memory-reservation", a.get("memory-reservation")));
    if (a.has("memory-swap")) mem().swap = TRY(parse_size("memory-swap", a.get("memory-swap")));
    if (a.has("kernel-memory"))
        mem().kernel = TRY(parse_size("kernel-memory", a.get("kernel-memory")));
    if (a.has("kernel-memory-tcp"))
        mem().kernel_tcp = TRY(parse_size("kernel-memory-tcp", a.get("kernel-memory-tcp")));
    if (a.has("cpu-share")) cpu().shares = TRY(parse_uint("cpu-share", a.get("cpu-share")));
    if (a.has("cpu-quota")) cpu().quota = TRY(parse_int("cpu-quota", a.get("cpu-quota")));
    if (a.has("cpu-period")) cpu().period = TRY(parse_uint("cpu-period", a.get("cpu-period")));
    if (a.has("cpu-rt-runtime"))
        cpu().realtime_runtime = TRY(parse_int("cpu-rt-runtime", a.get("cpu-rt-runtime")));
    if (a.has("cpu-rt-period"))
        cpu().realtime_period = TRY(parse_uint("cpu-rt-period", a.get("cpu-rt-period")));
    if (a.has("cpuset-cpus")) cpu().cpus = a.get("cpuset-cpus");
    if (a.has("cpuset-mems")) cpu().mems = a.get("cpuset-mems");
    if (a.has("pids-limit")) {
        r.pids.emplace();
        r.pids->limit = TRY(parse_int("pids-limit", a.get("pids-limit")));
    }
    if (a.has("blkio-weight")) {
        uint64_t w = TRY(parse_uint("blkio-weight", a.get("blkio-weight")));
        if (w != 0 && (w < 10 || w > 1000))
            return error("invalid value '" + a.get("blkio-weight") +
                         "' for --blkio-weight: must be 10-1000");
        r.block_io.emplace();
        r.block_io->weight = static_cast<uint16_t>(w);
    }
    return r;
}

}  // namespace

int cmd_update(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("resources,r", "value",
             "path to the file containing the resources to update or '-' to read from stdin")
        .option("blkio-weight", "value", "specifies per cgroup weight, range is from 10 to 1000")
        .option("cpu-period", "value", "CPU CFS period to be used for hardcapping")
        .option("cpu-quota", "value", "CPU CFS hardcap limit (in usecs)")
        .option("cpu-share,cpu-shares", "value",
                "CPU shares (relative weight vs. other containers)")
        .option("cpu-rt-period", "value", "CPU realtime period to be used for hardcapping")
        .option("cpu-rt-runtime", "value", "CPU realtime hardcap limit (in usecs)")
        .option("cpuset-cpus", "value", "CPU(s) to use")
        .option("cpuset-mems", "value", "memory node(s) to use")
        .option("kernel-memory", "value", "kernel memory limit (ignored: not enforced)")
        .option("kernel-memory-tcp", "value", "kernel memory limit for tcp buffer")
        .option("memory", "value", "memory limit (in bytes)")
        .option("memory-reservation", "value", "memory reservation or soft_limit (in bytes)")
        .option("memory-swap", "value", "total memory usage (memory + swap); '-1' for unlimited")
        .option("pids-limit", "value", "maximum number of pids allowed in the container")
        .option("l3-cache-schema", "value", "the string of Intel RDT/CAT L3 cache schema")
        .option("mem-bw-schema", "value", "the string of Intel RDT/MBA memory bandwidth schema");
    int status;
    if (!parse_or_help(a, argv, "update [command options] <container-id>", &status)) return status;
    auto id = exactly_one_id(a, "update");
    if (!id) return fail(id.error());
    if (a.has("l3-cache-schema") || a.has("mem-bw-schema"))
        return fail(
            error("Intel RDT is not supported by berth (--l3-cache-schema, "
                  "--mem-bw-schema)"));
    Result<spec::Resources> res = spec::Resources{};
    if (a.has("resources")) {
        std::string file = a.get("resources");
        auto text = read_file(file == "-" ? "/dev/stdin" : file);
        if (!text) return fail(text.error().with_context("read resources '" + file + "'"));
        res = spec::parse_resources(*text);
        if (!res) return fail(res.error().with_context("resources '" + file + "'"));
        // runc does not change device rules on update; neither does berth.
        res->devices.clear();
    } else {
        res = from_flags(a);
        if (!res) return fail(res.error());
    }
    auto c = open_container_cgroup(g.root, *id, true);
    if (!c) return fail(c.error());
    if (!c->alive) return fail(error(ErrorKind::wrong_state, "container not running"));
    // Like runc, the update is merged into the resources kept in state.json and the whole
    // set is applied, so a driver sees the old period next to a new quota; the merged set
    // is saved for the next update (and for whoever reads state.json).
    spec::Resources base;
    if (!c->state.resources.is_null()) {
        auto saved = spec::parse_resources_json(c->state.resources);
        if (!saved) return fail(saved.error().with_context("state of container '" + *id + "'"));
        base = std::move(*saved);
    }
    spec::Resources merged = cgroups::merge_resources(base, *res);
    if (auto st = c->cg.apply(merged); !st)
        return fail(st.error().with_context("update container '" + *id + "'"));
    for (const auto& w : c->cg.warnings())
        log::warn(w);
    c->state.resources = spec::to_json(merged);
    c->state.cgroup = c->cg.to_state();
    if (auto st = c->dir.save(c->state); !st)
        return fail(st.error().with_context("save state of container '" + *id + "'"));
    return 0;
}

}  // namespace berth::cli
