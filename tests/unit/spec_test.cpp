// spec/: config.json round-trips on real files, runc spec defaults, resources and process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "base/file.hpp"
#include "spec/runtime_config.hpp"
#include "tests/unit/spec_fixtures.hpp"

using namespace berth;
using namespace berth::spec;
using berth::testing::fixture;
using berth::testing::fixtures_dir;
using nlohmann::json;

namespace {

// What "the same JSON" means after a round-trip: runtime-spec's Go types omit empty
// strings, lists, maps and false booleans (omitempty) and treat null as absent, so those are
// dropped from both sides before comparing.
json normalize(const json& j, const std::string& key = "") {
    static const std::set<std::string> kOmitFalse = {"terminal", "readonly", "noNewPrivileges"};
    if (j.is_object()) {
        json out = json::object();
        for (auto it = j.begin(); it != j.end(); ++it) {
            const json& v = it.value();
            if (v.is_null()) continue;
            if ((v.is_array() || v.is_string()) && v.empty() && it.key() != "allow") continue;
            if (v.is_boolean() && !v.get<bool>() && kOmitFalse.count(it.key())) continue;
            json n = normalize(v, it.key());
            if (n.is_object() && n.empty() && key != "rdma") continue;
            out[it.key()] = n;
        }
        return out;
    }
    if (j.is_array()) {
        json out = json::array();
        for (const auto& v : j)
            out.push_back(normalize(v));
        return out;
    }
    return j;
}

void expect_round_trip(const std::string& name, bool exact, const char* invalid = nullptr) {
    SCOPED_TRACE(name);
    std::string text = fixture("configs/" + name);
    ASSERT_FALSE(text.empty()) << "missing fixture in " << fixtures_dir();
    auto s = parse_config(text);
    ASSERT_TRUE(s.ok()) << s.error().str();
    if (invalid)
        EXPECT_EQ(validate(*s).error().str(), invalid);
    else
        EXPECT_TRUE(validate(*s).ok()) << validate(*s).error().str();
    json orig = json::parse(text);
    json back = to_json(*s);
    if (exact)
        EXPECT_EQ(back, orig) << back.dump(2);
    else
        EXPECT_EQ(normalize(back), normalize(orig)) << back.dump(2);
    // Writing what we read again is stable.
    auto again = parse_config(to_string(*s));
    ASSERT_TRUE(again.ok()) << again.error().str();
    EXPECT_EQ(to_json(*again), back);
}

}  // namespace

TEST(SpecRoundTrip, RuncSpec) {
    expect_round_trip("runc-spec.json", true);
}

TEST(SpecRoundTrip, RuncSpecRootless) {
    expect_round_trip("runc-spec-rootless.json", true);
    expect_round_trip("runc-spec-rootless-uid65534.json", true);
}

TEST(SpecRoundTrip, AllFields) {
    expect_round_trip("all-fields.json", true);
}

TEST(SpecRoundTrip, PodmanCreate) {
    expect_round_trip("podman-4.3-create.json", true);
    expect_round_trip("podman-4.3-resources-userns.json", true);
}

TEST(SpecRoundTrip, CrunSpec) {
    expect_round_trip("crun-1.8-spec.json", true);
    // crun maps the caller itself when a new user namespace has no mappings; runc (and so
    // berth) refuses that.
    expect_round_trip(
        "crun-1.8-spec-rootless.json", true,
        "linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings");
}

TEST(SpecRoundTrip, ContainerdCtrRun) {
    // Captured from bundles containerd 1.6 (Debian) wrote for `ctr run`, plain and with
    // --seccomp, --memory-limit, --cpus and a bind mount.
    expect_round_trip("containerd-1.6-ctr-run.json", true);
    expect_round_trip("containerd-1.6-ctr-run-seccomp-resources.json", true);
    expect_round_trip("containerd-1.6-ctr-run-handwritten.json", true);
}

TEST(SpecRoundTrip, AllFieldsValues) {
    auto s = parse_config(fixture("configs/all-fields.json"));
    ASSERT_TRUE(s.ok()) << s.error().str();
    const Process& p = *s->process;
    EXPECT_TRUE(p.terminal);
    EXPECT_EQ(p.console_size->width, 80u);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids.back(), 4294967295u);
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    EXPECT_EQ(*p.oom_score_adj, -500);
    EXPECT_EQ(p.scheduler->policy, "SCHED_DEADLINE");
    EXPECT_EQ(*p.scheduler->nice, -5);
    EXPECT_EQ(p.io_priority->klass, "IOPRIO_CLASS_BE");
    EXPECT_EQ(p.exec_cpu_affinity->final, "0-3,7");
    EXPECT_TRUE(p.capabilities->inheritable.has_value());
    EXPECT_TRUE(p.capabilities->inheritable->empty());
    EXPECT_EQ(s->hooks->create_runtime[0].timeout, 5);
    const Linux& l = *s->linux_;
    EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
    EXPECT_EQ(*l.resources->memory->swap, -1);
    EXPECT_EQ(l.resources->rdma.at("mlx4_0").hca_objects, 1000u);
    EXPECT_FALSE(l.resources->rdma.at("mlx4_0").hca_handles.has_value());
    EXPECT_EQ(l.devices[1].file_mode, 432u);
    EXPECT_EQ(l.seccomp->syscalls[3].args[1].value_two, 255u);
    EXPECT_EQ(l.time_offsets.at("boottime").secs, -3600);
    EXPECT_EQ(l.memory_policy->mode, "MPOL_INTERLEAVE");
    EXPECT_EQ(l.intel_rdt->schemata, "L3:0=7f0;1=1f");
    EXPECT_EQ(s->extensions.at("org.example.extension").at("kept")[2], 3);
    EXPECT_TRUE(s->extensions.contains("vm"));
}

TEST(SpecRoundTrip, NullAndEmptyMeanAbsent) {
    // Go's encoding/json leaves the zero value for null; engines write null for nil slices.
    auto s = parse_config(R"({"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},
        "cwd":"/","args":["sh"],"env":null,"capabilities":null,"rlimits":[]},
        "hostname":null,"mounts":null,"annotations":{},"linux":{"namespaces":null,
        "personality":{"domain":"LINUX","flags":[]}}})");
    ASSERT_TRUE(s.ok()) << s.error().str();
    EXPECT_FALSE(s->process->capabilities.has_value());
    EXPECT_TRUE(s->mounts.empty());
    json out = to_json(*s);
    EXPECT_FALSE(out["process"].contains("env"));
    EXPECT_FALSE(out.contains("annotations"));
    EXPECT_FALSE(out["linux"]["personality"].contains("flags"));
}

TEST(SpecRoundTrip, EmptyOptionalEnumIsUnset) {
    auto s = parse_config(R"({"ociVersion":"1.2.0","linux":{"rootfsPropagation":"",
        "resources":{"devices":[{"allow":true,"type":"","access":"rwm"}]}}})");
    ASSERT_TRUE(s.ok()) << s.error().str();
    EXPECT_EQ(s->linux_->rootfs_propagation, "");
    EXPECT_EQ(s->linux_->resources->devices[0].type, "");
}

TEST(SpecRoundTrip, ParsedJsonEntryPoints) {
    json cfg = json::parse(fixture("configs/all-fields.json"));
    auto s = parse_config_json(cfg);
    ASSERT_TRUE(s.ok()) << s.error().str();
    EXPECT_EQ(to_json(*s), cfg);
    auto p = parse_process_json(cfg["process"]);
    ASSERT_TRUE(p.ok()) << p.error().str();
    EXPECT_EQ(to_json(*p), cfg["process"]);
    auto r = parse_resources_json(cfg["linux"]["resources"]);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(to_json(*r), cfg["linux"]["resources"]);
    cfg["process"]["user"]["uid"] = -1;
    auto bad = parse_process_json(cfg["process"]);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(), "user.uid: expected unsigned integer");
}

TEST(SpecRoundTrip, UnknownFieldsIgnoredTopLevelKept) {
    auto s = parse_config(R"({"ociVersion":"1.2.0","futureThing":{"a":1},
        "process":{"user":{"uid":0,"gid":0,"futureUserField":1},"cwd":"/","args":["x"]},
        "linux":{"netDevices":{"eth0":{}}}})");
    ASSERT_TRUE(s.ok()) << s.error().str();
    json out = to_json(*s);
    EXPECT_EQ(out["futureThing"]["a"], 1);
    EXPECT_FALSE(out["process"]["user"].contains("futureUserField"));
    EXPECT_FALSE(out["linux"].contains("netDevices"));
}

TEST(SpecRoundTrip, ExtensionsDoNotOverrideKnownMembers) {
    Spec s = default_spec();
    s.extensions["hostname"] = "evil";
    s.extensions["x-note"] = "kept";
    json out = to_json(s);
    EXPECT_EQ(out["hostname"], "berth");
    EXPECT_EQ(out["x-note"], "kept");
}

TEST(SpecWrite, RuncMemberOrder) {
    std::string text = to_string(default_spec());
    EXPECT_LT(text.find("\"ociVersion\""), text.find("\"process\""));
    EXPECT_LT(text.find("\"process\""), text.find("\"root\""));
    EXPECT_LT(text.find("\"root\""), text.find("\"hostname\""));
    EXPECT_LT(text.find("\"hostname\""), text.find("\"mounts\""));
    EXPECT_LT(text.find("\"mounts\""), text.find("\"linux\""));
    EXPECT_LT(text.find("\"destination\""), text.find("\"type\": \"proc\""));
}

TEST(SpecWrite, InvalidUtf8IsReplacedNotThrown) {
    Spec s = default_spec();
    s.process->args = {"sh", std::string("bad\xff")};
    std::string text;
    EXPECT_NO_THROW(text = to_string(s));
    EXPECT_NE(text.find("bad"), std::string::npos);
}

TEST(SpecDefaults, MatchesRuncSpecExceptNames) {
    json runc = json::parse(fixture("configs/runc-spec.json"));
    json ours = to_json(default_spec());
    EXPECT_EQ(ours["ociVersion"], kRuntimeSpecVersion);
    EXPECT_EQ(ours["hostname"], "berth");
    runc.erase("ociVersion");
    runc.erase("hostname");
    ours.erase("ociVersion");
    ours.erase("hostname");
    EXPECT_EQ(ours, runc) << ours.dump(2);
}

TEST(SpecDefaults, TextMatchesRuncSpecWithTabs) {
    // runc writes one tab per level and no trailing newline; only the names differ.
    std::string runc = fixture("configs/runc-spec.json");
    std::string ours = to_string(default_spec(), 1, '\t');
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        auto at = s.find(from);
        if (at != std::string::npos) s.replace(at, from.size(), to);
        return s;
    };
    runc = replace(runc, "\"ociVersion\": \"1.0.2-dev\"",
                   std::string("\"ociVersion\": \"") + kRuntimeSpecVersion + "\"");
    runc = replace(runc, "\"hostname\": \"runc\"", "\"hostname\": \"berth\"");
    EXPECT_EQ(ours, runc);
}

TEST(SpecDefaults, RootlessMatchesRuncSpecRootless) {
    for (auto [file, id] : {std::pair{"runc-spec-rootless.json", 0u},
                            std::pair{"runc-spec-rootless-uid65534.json", 65534u}}) {
        SCOPED_TRACE(file);
        json runc = json::parse(fixture(std::string("configs/") + file));
        json ours = to_json(default_spec(true, id, id));
        runc.erase("ociVersion");
        runc.erase("hostname");
        ours.erase("ociVersion");
        ours.erase("hostname");
        EXPECT_EQ(ours, runc) << ours.dump(2);
    }
}

TEST(SpecDefaults, Validate) {
    EXPECT_TRUE(validate(default_spec()).ok());
    EXPECT_TRUE(validate(default_spec(true, 1000, 1000)).ok());
}

TEST(SpecResources, ContainerdUpdate) {
    std::string text = fixture("configs/containerd-update-resources-handwritten.json");
    auto r = parse_resources(text);
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r->memory->limit, 268435456);
    EXPECT_EQ(*r->cpu->quota, 20000);
    EXPECT_EQ(r->cpu->cpus, "0-1");
    EXPECT_EQ(*r->pids->limit, 200);
    EXPECT_EQ(r->unified.at("memory.high"), "200000000");
    EXPECT_EQ(to_json(*r), json::parse(text));
    auto again = parse_resources(to_string(*r));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(to_json(*again), json::parse(text));
}

TEST(SpecResources, UnlimitedAndEmpty) {
    auto r = parse_resources(R"({"memory":{"limit":-1,"swap":-1},"pids":{"limit":-1}})");
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r->memory->limit, -1);
    EXPECT_EQ(*r->pids->limit, -1);
    auto empty = parse_resources("{}");
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(to_json(*empty), json::object());
}

TEST(SpecResources, ErrorsHaveBarePaths) {
    auto r = parse_resources(R"({"memory":{"limit":"1g"}})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().str(), "memory.limit: expected integer");
    auto r2 = parse_resources("[1]");
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.error().str(), "expected object");
}

TEST(SpecProcess, ContainerdExec) {
    std::string text = fixture("configs/containerd-exec-process-handwritten.json");
    auto p = parse_process(text);
    ASSERT_TRUE(p.ok()) << p.error().str();
    EXPECT_TRUE(p->terminal);
    EXPECT_EQ(p->console_size->height, 40u);
    EXPECT_EQ(p->user.additional_gids.size(), 2u);
    EXPECT_EQ(*p->oom_score_adj, -998);
    EXPECT_TRUE(validate(*p).ok());
    EXPECT_EQ(to_json(*p), json::parse(text));
    auto again = parse_process(to_string(*p));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(to_json(*again), json::parse(text));
}

TEST(SpecProcess, ContainerdExecCaptured) {
    // The --process file containerd 1.6's runc shim wrote for `ctr task exec`.
    std::string text = fixture("configs/containerd-1.6-exec-process.json");
    auto p = parse_process(text);
    ASSERT_TRUE(p.ok()) << p.error().str();
    EXPECT_EQ(p->args, (std::vector<std::string>{"sh", "-c", "true"}));
    EXPECT_TRUE(validate(*p).ok());
    EXPECT_EQ(to_json(*p), json::parse(text));
}

TEST(SpecProcess, Errors) {
    auto p = parse_process(R"({"user":{"uid":0,"gid":0},"args":["sh"]})");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().str(), "cwd: required");
    auto q = parse_process(R"({"user":{"uid":0,"gid":0},"cwd":"/","args":[]})");
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(validate(*q).error().str(), "args: must not be empty");
    auto r = parse_process(R"({"user":{"uid":0,"gid":0},"cwd":"tmp","args":["x"]})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(validate(*r).error().str(), "cwd: must be an absolute path, got 'tmp'");
}

TEST(SpecLoad, FromFile) {
    std::string dir = ::testing::TempDir() + "spec-load-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    std::string path = dir + "/config.json";
    ASSERT_TRUE(write_file_atomic(path, to_string(default_spec())).ok());
    auto s = load_config(path);
    ASSERT_TRUE(s.ok()) << s.error().str();
    EXPECT_EQ(s->hostname, "berth");

    ASSERT_TRUE(write_file_atomic(path, "{\"ociVersion\": 1}").ok());
    auto bad = load_config(path);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(), "config.json: ociVersion: expected string");

    ASSERT_TRUE(write_file_atomic(path, "{\n  \"ociVersion\": \"1.2.0\",\n  oops\n}").ok());
    auto syntax = load_config(path);
    ASSERT_FALSE(syntax.ok());
    EXPECT_EQ(syntax.error().str(),
              "config.json: invalid JSON at line 3, column 3: syntax error while parsing object "
              "key - invalid literal; expected string literal");

    auto missing = load_config(dir + "/nope.json");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), ENOENT);
    EXPECT_EQ(missing.error().str().rfind("config.json: ", 0), 0u) << missing.error().str();
    EXPECT_TRUE(remove_all(dir).ok());
}
