// spec/: validate() rules beyond the schema, the state JSON and the features document.
#include <gtest/gtest.h>

#include <functional>

#include "spec/features.hpp"
#include "spec/runtime_config.hpp"
#include "spec/state.hpp"
#include "tests/unit/spec_fixtures.hpp"

using namespace berth::spec;
using berth::testing::fixture;
using nlohmann::json;

namespace {

Spec all_fields() {
    auto s = parse_config(fixture("configs/all-fields.json"));
    EXPECT_TRUE(s.ok()) << s.error().str();
    return s.ok() ? s.value() : Spec{};
}

std::string validate_error(const std::function<void(Spec&)>& change) {
    Spec s = all_fields();
    change(s);
    auto st = validate(s);
    return st.ok() ? "ok" : st.error().str();
}

Namespace* find_ns(Spec& s, const std::string& type) {
    for (auto& n : s.linux_->namespaces)
        if (n.type == type) return &n;
    return nullptr;
}

void drop_ns(Spec& s, const std::string& type) {
    std::erase_if(s.linux_->namespaces, [&](const Namespace& n) { return n.type == type; });
}

}  // namespace

TEST(SpecValidate, FixturesAreValid) {
    EXPECT_EQ(validate_error([](Spec&) {}), "ok");
}

TEST(SpecValidate, Rules) {
    struct {
        const char* want;
        std::function<void(Spec&)> change;
    } cases[] = {
        {"ociVersion: must not be empty", [](Spec& s) { s.oci_version.clear(); }},
        {"root.path: must not be empty", [](Spec& s) { s.root->path.clear(); }},
        {"process.args: must not be empty", [](Spec& s) { s.process->args.clear(); }},
        {"process.cwd: must be an absolute path, got 'home'",
         [](Spec& s) { s.process->cwd = "home"; }},
        {"process.consoleSize: requires terminal: true",
         [](Spec& s) { s.process->terminal = false; }},
        {"process.rlimits[2].type: duplicate rlimit 'RLIMIT_NOFILE'",
         [](Spec& s) { s.process->rlimits[2].type = "RLIMIT_NOFILE"; }},
        {"process.rlimits[0]: soft limit exceeds hard limit",
         [](Spec& s) { s.process->rlimits[0].soft = 2048; }},
        {"process.oomScoreAdj: 1001 out of range (-1000 to 1000)",
         [](Spec& s) { s.process->oom_score_adj = 1001; }},
        {"process.scheduler.nice: 20 out of range (-20 to 19)",
         [](Spec& s) { s.process->scheduler->nice = 20; }},
        {"process.ioPriority.priority: 8 out of range (0 to 7)",
         [](Spec& s) { s.process->io_priority->priority = 8; }},
        {"process.execCPUAffinity.initial: invalid CPU list '0-'",
         [](Spec& s) { s.process->exec_cpu_affinity->initial = "0-"; }},
        {"process.execCPUAffinity.final: invalid CPU list '1,,2'",
         [](Spec& s) { s.process->exec_cpu_affinity->final = "1,,2"; }},
        {"hostname: requires a uts namespace", [](Spec& s) { drop_ns(s, "uts"); }},
        {"domainname: requires a uts namespace",
         [](Spec& s) {
             drop_ns(s, "uts");
             s.hostname.clear();
         }},
        {"mounts[0].destination: must not be empty",
         [](Spec& s) { s.mounts[0].destination.clear(); }},
        {"mounts[1]: uidMappings and gidMappings must be given together",
         [](Spec& s) { s.mounts[1].gid_mappings.clear(); }},
        {"hooks.poststart[0].path: must be an absolute path, got 'notify-start'",
         [](Spec& s) { s.hooks->poststart[0].path = "notify-start"; }},
        {"hooks.createRuntime[0].timeout: must be greater than zero",
         [](Spec& s) { s.hooks->create_runtime[0].timeout = 0; }},
        {"annotations: empty key", [](Spec& s) { s.annotations[""] = "x"; }},
        {"linux.namespaces[8].type: duplicate namespace 'pid'",
         [](Spec& s) {
             s.linux_->namespaces.push_back({"pid", ""});
         }},
        {"linux.namespaces[1].path: must be an absolute path, got 'netns'",
         [](Spec& s) { find_ns(s, "network")->path = "netns"; }},
        {"linux.uidMappings: requires a user namespace", [](Spec& s) { drop_ns(s, "user"); }},
        {"linux.gidMappings: requires a user namespace",
         [](Spec& s) {
             drop_ns(s, "user");
             s.linux_->uid_mappings.clear();
         }},
        {"linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings",
         [](Spec& s) { s.linux_->gid_mappings.clear(); }},
        {"linux.uidMappings[0].size: must be greater than zero",
         [](Spec& s) { s.linux_->uid_mappings[0].size = 0; }},
        {"linux.timeOffsets: requires a time namespace", [](Spec& s) { drop_ns(s, "time"); }},
        {"linux.timeOffsets.monotonic.nanosecs: must be below 1000000000",
         [](Spec& s) { s.linux_->time_offsets["monotonic"].nanosecs = 1000000000; }},
        {"linux.sysctl: empty key", [](Spec& s) { s.linux_->sysctl[""] = "1"; }},
        {"linux.sysctl[\"vm.swappiness\"]: not namespaced: would change the host",
         [](Spec& s) { s.linux_->sysctl["vm.swappiness"] = "10"; }},
        {"linux.sysctl[\"net.core.somaxconn\"]: requires a network namespace",
         [](Spec& s) { drop_ns(s, "network"); }},
        {"linux.sysctl[\"kernel.shmmax\"]: requires an ipc namespace",
         [](Spec& s) { drop_ns(s, "ipc"); }},
        {"linux.sysctl[\"kernel.hostname\"]: requires a uts namespace",
         [](Spec& s) {
             drop_ns(s, "uts");
             s.hostname.clear();
             s.domainname.clear();
             s.linux_->sysctl["kernel.hostname"] = "x";
         }},
        {"linux.devices[0].path: must be an absolute path, got 'dev/fuse'",
         [](Spec& s) { s.linux_->devices[0].path = "dev/fuse"; }},
        {"linux.maskedPaths[1]: must be an absolute path, got 'proc/keys'",
         [](Spec& s) { s.linux_->masked_paths[1] = "proc/keys"; }},
        {"linux.readonlyPaths[0]: must be an absolute path, got ''",
         [](Spec& s) { s.linux_->readonly_paths[0].clear(); }},
        {"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default",
         [](Spec& s) { s.linux_->seccomp->default_action = "SCMP_ACT_NOTIFY"; }},
        {"linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
         [](Spec& s) { s.linux_->seccomp->default_action = "SCMP_ACT_ALLOW"; }},
        {"linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
         [](Spec& s) { s.linux_->seccomp->syscalls[0].errno_ret = 1; }},
        {"linux.seccomp.syscalls[0].names: must not be empty",
         [](Spec& s) { s.linux_->seccomp->syscalls[0].names.clear(); }},
        {"linux.seccomp.syscalls[0].names[1]: empty syscall name",
         [](Spec& s) { s.linux_->seccomp->syscalls[0].names[1].clear(); }},
        {"linux.seccomp.syscalls[3].args[1].index: syscalls take at most 6 arguments (0 to 5)",
         [](Spec& s) { s.linux_->seccomp->syscalls[3].args[1].index = 6; }},
        {"linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY",
         [](Spec& s) { s.linux_->seccomp->listener_path.clear(); }},
        {"linux.memoryPolicy.nodes: required for MPOL_INTERLEAVE",
         [](Spec& s) { s.linux_->memory_policy->nodes.clear(); }},
        {"linux.memoryPolicy.nodes: must be empty for MPOL_LOCAL",
         [](Spec& s) { s.linux_->memory_policy->mode = "MPOL_LOCAL"; }},
        {"linux.memoryPolicy.nodes: invalid node list 'a-b'",
         [](Spec& s) { s.linux_->memory_policy->nodes = "a-b"; }},
        {"linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each "
         "other",
         [](Spec& s) { s.linux_->memory_policy->flags.push_back("MPOL_F_RELATIVE_NODES"); }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.want);
        EXPECT_EQ(validate_error(c.change), c.want);
    }
}

TEST(SpecValidate, JoinedUserNamespaceNeedsNoMappings) {
    EXPECT_EQ(validate_error([](Spec& s) {
                  find_ns(s, "user")->path = "/proc/1/ns/user";
                  s.linux_->uid_mappings.clear();
                  s.linux_->gid_mappings.clear();
              }),
              "ok");
}

TEST(SpecValidate, RelativeMountDestinationIsUnderRoot) {
    // Deprecated but valid (runtime-spec 1.1+): taken relative to "/".
    EXPECT_EQ(validate_error([](Spec& s) { s.mounts[1].destination = "data"; }), "ok");
    Mount m;
    m.destination = "data/x";
    EXPECT_EQ(mount_destination(m), "/data/x");
    m.destination = "/abs";
    EXPECT_EQ(mount_destination(m), "/abs");
}

TEST(SpecValidate, MinimalConfig) {
    auto s = parse_config(R"({"ociVersion":"1.2.0"})");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(validate(*s).ok());
}

TEST(SpecState, RuncStateRoundTrip) {
    std::string text = fixture("configs/runc-1.1-state.json");
    auto s = parse_state(text);
    ASSERT_TRUE(s.ok()) << s.error().str();
    EXPECT_EQ(s->id, "spec-state-test");
    EXPECT_EQ(s->status, "created");
    EXPECT_GT(s->pid, 0);
    EXPECT_EQ(s->created, "2026-11-28T01:04:18.502356611Z");
    // runc's text exactly: two-space indent, runc's member order, no trailing newline.
    EXPECT_EQ(to_string(*s), text);
    EXPECT_EQ(to_json(*s), json::parse(text));
}

TEST(SpecState, AnnotationsBeforeOwner) {
    State s;
    s.oci_version = kRuntimeSpecVersion;
    s.id = "web";
    s.status = "running";
    s.pid = 42;
    s.bundle = "/b";
    s.annotations["k"] = "v";
    std::string text = to_string(s, -1);
    EXPECT_EQ(text, R"({"ociVersion":"1.2.0","id":"web","pid":42,"status":"running","bundle":"/b",)"
                    R"("rootfs":"","created":"","annotations":{"k":"v"},"owner":""})");
}

TEST(SpecState, Errors) {
    auto bad = parse_state(R"({"ociVersion":"1.2.0","id":"x","status":"sleeping","bundle":"/b"})");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(), "status: unknown status 'sleeping'");
    auto missing = parse_state(R"({"ociVersion":"1.2.0","status":"created","bundle":"/b"})");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().str(), "id: required");
    auto pid = parse_state(R"({"ociVersion":"1","id":"x","status":"created","bundle":"/b",
        "pid":"12"})");
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().str(), "pid: expected integer");
}

TEST(SpecState, Rfc3339Nano) {
    EXPECT_EQ(rfc3339_nano({1795827858, 502356611}), "2026-11-28T01:04:18.502356611Z");
    EXPECT_EQ(rfc3339_nano({1795827858, 500000000}), "2026-11-28T01:04:18.5Z");
    EXPECT_EQ(rfc3339_nano({0, 0}), "1970-01-01T00:00:00Z");
    EXPECT_EQ(rfc3339_nano({1795827858, 10}), "2026-11-28T01:04:18.00000001Z");
}

TEST(SpecFeatures, RuncFeaturesRoundTrip) {
    std::string text = fixture("configs/runc-1.1-features.json");
    auto f = parse_features(text);
    ASSERT_TRUE(f.ok()) << f.error().str();
    EXPECT_EQ(f->oci_version_max, "1.0.2-dev");
    ASSERT_TRUE(f->linux_.has_value());
    EXPECT_TRUE(*f->linux_->seccomp->enabled);
    EXPECT_TRUE(*f->linux_->cgroup->systemd_user);
    EXPECT_FALSE(f->linux_->cgroup->rdma.has_value());
    EXPECT_EQ(to_json(*f), json::parse(text));
    // runc prints four-space indentation in this member order.
    EXPECT_EQ(to_string(*f) + "\n", text);
}

TEST(SpecFeatures, AllMembers) {
    Features f;
    f.oci_version_min = "1.0.0";
    f.oci_version_max = kRuntimeSpecVersion;
    f.hooks = {"prestart"};
    f.mount_options = {"ro"};
    LinuxFeatures l;
    l.namespaces = {"pid", "time"};
    l.capabilities = {"CAP_KILL"};
    l.cgroup = CgroupFeatures{true, true, false, false, false};
    SeccompFeatures sc;
    sc.enabled = true;
    sc.actions = {"SCMP_ACT_ALLOW"};
    sc.operators = {"SCMP_CMP_EQ"};
    sc.archs = {"SCMP_ARCH_X86_64"};
    sc.known_flags = {"SECCOMP_FILTER_FLAG_LOG"};
    sc.supported_flags = {"SECCOMP_FILTER_FLAG_LOG"};
    l.seccomp = sc;
    l.apparmor = FeatureEnabled{false};
    l.selinux = FeatureEnabled{false};
    l.intel_rdt = FeatureEnabled{false};
    l.mount_extensions = MountExtensions{FeatureEnabled{true}};
    f.linux_ = l;
    f.annotations["org.berth.version"] = "0.1.0";
    f.potentially_unsafe_config_annotations = {"org.berth.unsafe"};
    json j = to_json(f);
    EXPECT_EQ(j["linux"]["cgroup"]["systemdUser"], false);
    EXPECT_EQ(j["linux"]["cgroup"]["rdma"], false);
    EXPECT_EQ(j["linux"]["seccomp"]["knownFlags"][0], "SECCOMP_FILTER_FLAG_LOG");
    EXPECT_EQ(j["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    EXPECT_EQ(j["linux"]["intelRdt"]["enabled"], false);
    EXPECT_EQ(j["potentiallyUnsafeConfigAnnotations"][0], "org.berth.unsafe");
    auto back = parse_features(to_string(f));
    ASSERT_TRUE(back.ok()) << back.error().str();
    EXPECT_EQ(to_json(*back), j);
    auto bad = parse_features(R"({"ociVersionMin":"1.0.0"})");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(), "ociVersionMax: required");
}

// A caller tells bad input from a failing system by the kind, not by the text.
TEST(SpecValidate, ErrorsAreOfKindInvalid) {
    Spec s = all_fields();
    s.process->cwd = "relative";
    auto st = validate(s);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.error().is(berth::ErrorKind::invalid)) << st.error().str();
    auto parsed = parse_config(R"({"ociVersion": "1.0.2", "process": {"cwd": 7}})");
    ASSERT_FALSE(parsed.ok());
    EXPECT_TRUE(parsed.error().is(berth::ErrorKind::invalid)) << parsed.error().str();
    auto broken = parse_config("{");
    ASSERT_FALSE(broken.ok());
    EXPECT_TRUE(broken.error().is(berth::ErrorKind::invalid)) << broken.error().str();
}
