// spec/: malformed config.json, each case checking the exact path-qualified error.
#include <gtest/gtest.h>

#include "spec/runtime_config.hpp"
#include "tests/unit/spec_fixtures.hpp"

using namespace berth::spec;
using nlohmann::json;

namespace {

struct Case {
    const char* pointer;  // JSON pointer into all-fields.json
    json value;           // what to put there (ignored when remove)
    const char* want;     // the exact error
    bool remove = false;
};

json base() {
    return json::parse(berth::testing::fixture("configs/all-fields.json"));
}

Case drop(const char* pointer, const char* want) {
    return Case{pointer, nullptr, want, true};
}

const Case kCases[] = {
    // Document and top level.
    drop("/ociVersion", "ociVersion: required"),
    {"/ociVersion", 1, "ociVersion: expected string"},
    {"/ociVersion", nullptr, "ociVersion: required"},
    {"/hostname", json::array(), "hostname: expected string"},
    {"/annotations/com.example.key1", 7, "annotations[\"com.example.key1\"]: expected string"},
    {"/annotations", json::array({"a"}), "annotations: expected object"},
    // process
    {"/process", "sh", "process: expected object"},
    drop("/process/cwd", "process.cwd: required"),
    drop("/process/user", "process.user: required"),
    drop("/process/user/uid", "process.user.uid: required"),
    {"/process/user/uid", 4294967296ull, "process.user.uid: 4294967296 out of range for uint32"},
    {"/process/user/gid", -1, "process.user.gid: expected unsigned integer"},
    {"/process/user/uid", 1.5, "process.user.uid: expected unsigned integer"},
    {"/process/user/uid", "0", "process.user.uid: expected unsigned integer"},
    {"/process/user/umask", 1.0, "process.user.umask: expected unsigned integer"},
    {"/process/user/additionalGids/2", 4294967296ull,
     "process.user.additionalGids[2]: 4294967296 out of range for uint32"},
    {"/process/terminal", "yes", "process.terminal: expected boolean"},
    {"/process/terminal", 1, "process.terminal: expected boolean"},
    drop("/process/consoleSize/width", "process.consoleSize.width: required"),
    {"/process/args", "sh -c true", "process.args: expected array"},
    {"/process/args/1", 5, "process.args[1]: expected string"},
    {"/process/env/0", false, "process.env[0]: expected string"},
    {"/process/capabilities/bounding", "CAP_KILL", "process.capabilities.bounding: expected array"},
    {"/process/rlimits/1/hard", -1, "process.rlimits[1].hard: expected unsigned integer"},
    {"/process/rlimits/1/hard", "unlimited", "process.rlimits[1].hard: expected unsigned integer"},
    {"/process/rlimits/0/type", "RLIMIT_FOO",
     "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"},
    {"/process/rlimits/0/type", "nofile", "process.rlimits[0].type: unknown rlimit 'nofile'"},
    drop("/process/rlimits/2/soft", "process.rlimits[2].soft: required"),
    {"/process/oomScoreAdj", 1.5, "process.oomScoreAdj: expected integer"},
    {"/process/oomScoreAdj", 2147483648ll,
     "process.oomScoreAdj: 2147483648 out of range for int32"},
    {"/process/oomScoreAdj", -2147483649ll,
     "process.oomScoreAdj: -2147483649 out of range for int32"},
    {"/process/scheduler/policy", "SCHED_FAST",
     "process.scheduler.policy: unknown scheduler policy 'SCHED_FAST'"},
    drop("/process/scheduler/policy", "process.scheduler.policy: required"),
    {"/process/scheduler/flags/1", "SCHED_FLAG_TURBO",
     "process.scheduler.flags[1]: unknown scheduler flag 'SCHED_FLAG_TURBO'"},
    {"/process/ioPriority/class", "IOPRIO_CLASS_NONE",
     "process.ioPriority.class: unknown ioPriority class 'IOPRIO_CLASS_NONE'"},
    {"/process/execCPUAffinity/initial", 3, "process.execCPUAffinity.initial: expected string"},
    // root, mounts, hooks
    drop("/root/path", "root.path: required"),
    {"/root/readonly", "true", "root.readonly: expected boolean"},
    {"/mounts", json::object(), "mounts: expected array"},
    drop("/mounts/2/destination", "mounts[2].destination: required"),
    {"/mounts/2/options/1", 1, "mounts[2].options[1]: expected string"},
    drop("/mounts/1/uidMappings/0/size", "mounts[1].uidMappings[0].size: required"),
    drop("/hooks/prestart/0/path", "hooks.prestart[0].path: required"),
    {"/hooks/poststop/0/timeout", "5s", "hooks.poststop[0].timeout: expected integer"},
    {"/hooks/createRuntime", json::object(), "hooks.createRuntime: expected array"},
    // linux
    {"/linux/namespaces/2/type", "netx", "linux.namespaces[2].type: unknown namespace 'netx'"},
    drop("/linux/namespaces/0/type", "linux.namespaces[0].type: required"),
    {"/linux/namespaces/1/path", 3, "linux.namespaces[1].path: expected string"},
    {"/linux/uidMappings/0/hostID", 4294967296ull,
     "linux.uidMappings[0].hostID: 4294967296 out of range for uint32"},
    drop("/linux/gidMappings/0/containerID", "linux.gidMappings[0].containerID: required"),
    {"/linux/sysctl/net.ipv4.ip_forward", 1,
     "linux.sysctl[\"net.ipv4.ip_forward\"]: expected string"},
    {"/linux/devices/0/type", "x", "linux.devices[0].type: unknown device type 'x'"},
    drop("/linux/devices/1/path", "linux.devices[1].path: required"),
    {"/linux/devices/0/major", "10", "linux.devices[0].major: expected integer"},
    drop("/linux/resources/devices/0/allow", "linux.resources.devices[0].allow: required"),
    {"/linux/resources/devices/1/type", "z",
     "linux.resources.devices[1].type: unknown device cgroup type 'z'"},
    {"/linux/resources/devices/0/access", "xyz",
     "linux.resources.devices[0].access: unknown device access 'xyz' (want letters of rwm)"},
    {"/linux/resources/memory/limit", "512m", "linux.resources.memory.limit: expected integer"},
    {"/linux/resources/memory/limit", 9223372036854775808ull,
     "linux.resources.memory.limit: 9223372036854775808 out of range for int64"},
    {"/linux/resources/memory/swappiness", -1,
     "linux.resources.memory.swappiness: expected unsigned integer"},
    {"/linux/resources/cpu/cpus", json::array({0, 1}), "linux.resources.cpu.cpus: expected string"},
    {"/linux/resources/blockIO/weight", 70000,
     "linux.resources.blockIO.weight: 70000 out of range for uint16"},
    drop("/linux/resources/blockIO/weightDevice/0/major",
         "linux.resources.blockIO.weightDevice[0].major: required"),
    {"/linux/resources/blockIO/throttleWriteIOPSDevice/0/rate", -5,
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: expected unsigned integer"},
    drop("/linux/resources/hugepageLimits/1/pageSize",
         "linux.resources.hugepageLimits[1].pageSize: required"),
    drop("/linux/resources/network/priorities/0/priority",
         "linux.resources.network.priorities[0].priority: required"),
    {"/linux/resources/rdma/mlx5_1/hcaHandles", -1,
     "linux.resources.rdma.mlx5_1.hcaHandles: expected unsigned integer"},
    {"/linux/resources/unified/memory.high", 5,
     "linux.resources.unified[\"memory.high\"]: expected string"},
    {"/linux/resources/pids/limit", "max", "linux.resources.pids.limit: expected integer"},
    drop("/linux/seccomp/defaultAction", "linux.seccomp.defaultAction: required"),
    {"/linux/seccomp/defaultAction", "SCMP_ACT_MAYBE",
     "linux.seccomp.defaultAction: unknown seccomp action 'SCMP_ACT_MAYBE'"},
    {"/linux/seccomp/architectures/1", "SCMP_ARCH_Z80",
     "linux.seccomp.architectures[1]: unknown seccomp architecture 'SCMP_ARCH_Z80'"},
    {"/linux/seccomp/flags/0", "SECCOMP_FILTER_FLAG_FAST",
     "linux.seccomp.flags[0]: unknown seccomp flag 'SECCOMP_FILTER_FLAG_FAST'"},
    {"/linux/seccomp/syscalls/3/args/1/op", "SCMP_CMP_XX",
     "linux.seccomp.syscalls[3].args[1].op: unknown seccomp operator 'SCMP_CMP_XX'"},
    drop("/linux/seccomp/syscalls/3/args/0/index",
         "linux.seccomp.syscalls[3].args[0].index: required"),
    drop("/linux/seccomp/syscalls/0/names", "linux.seccomp.syscalls[0].names: required"),
    {"/linux/seccomp/syscalls/1/action", "kill",
     "linux.seccomp.syscalls[1].action: unknown seccomp action 'kill'"},
    {"/linux/seccomp/syscalls/1/errnoRet", -1,
     "linux.seccomp.syscalls[1].errnoRet: expected unsigned integer"},
    {"/linux/rootfsPropagation", "sideways",
     "linux.rootfsPropagation: unknown rootfsPropagation 'sideways'"},
    {"/linux/personality/domain", "LINUX64",
     "linux.personality.domain: unknown personality domain 'LINUX64'"},
    {"/linux/timeOffsets/realtime", json::object({{"secs", 1}}),
     "linux.timeOffsets.realtime: unknown clock 'realtime'"},
    {"/linux/timeOffsets/monotonic/nanosecs", -1,
     "linux.timeOffsets.monotonic.nanosecs: expected unsigned integer"},
    {"/linux/memoryPolicy/mode", "MPOL_FAST",
     "linux.memoryPolicy.mode: unknown memoryPolicy mode 'MPOL_FAST'"},
    {"/linux/memoryPolicy/flags/0", "MPOL_F_ANY",
     "linux.memoryPolicy.flags[0]: unknown memoryPolicy flag 'MPOL_F_ANY'"},
    {"/linux/intelRdt/enableCMT", "yes", "linux.intelRdt.enableCMT: expected boolean"},
    {"/linux/maskedPaths", "/proc/kcore", "linux.maskedPaths: expected array"},
};

}  // namespace

TEST(SpecErrors, PathQualified) {
    const json original = base();
    ASSERT_TRUE(original.is_object());
    for (const Case& c : kCases) {
        SCOPED_TRACE(c.pointer);
        json j = original;
        json::json_pointer ptr(c.pointer);
        if (c.remove) {
            ASSERT_TRUE(j.contains(ptr));
            j[ptr.parent_pointer()].erase(ptr.back());
        } else {
            j[ptr] = c.value;
        }
        auto s = parse_config(j.dump());
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.error().str(), c.want);
        EXPECT_EQ(s.error().code(), 0);
    }
}

TEST(SpecErrors, NotAnObject) {
    for (const char* text : {"[]", "\"config\"", "42", "null"}) {
        auto s = parse_config(text);
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.error().str(), "expected object");
    }
}

TEST(SpecErrors, InvalidJsonNamesLineAndColumn) {
    struct {
        const char* text;
        const char* want;
    } cases[] = {
        {"",
         "invalid JSON at line 1, column 1: syntax error while parsing value - unexpected "
         "end of input; expected '[', '{', or a literal"},
        {"{\"ociVersion\": \"1.2.0\"",
         "invalid JSON at line 1, column 23: syntax error while "
         "parsing object - unexpected end of input; expected '}'"},
        {"{\n  \"ociVersion\": \"1.2.0\",\n}",
         "invalid JSON at line 3, column 1: syntax error while parsing object key - unexpected "
         "'}'; expected string literal"},
        {"{} trailing",
         "invalid JSON at line 1, column 6: syntax error while parsing value - "
         "invalid literal; expected end of input"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto s = parse_config(c.text);
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.error().str(), c.want);
    }
    // Invalid UTF-8 inside a string is a parse error, not a crash later when writing.
    auto bad = parse_config("{\"ociVersion\": \"\xff\"}");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().str(),
              "invalid JSON at line 1, column 17: syntax error while parsing value - invalid "
              "string: ill-formed UTF-8 byte");
}

TEST(SpecErrors, QuotedKeysEscape) {
    auto s = parse_config(R"({"ociVersion":"1.2.0","annotations":{"a\"b":1}})");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().str(), R"(annotations["a\"b"]: expected string)");
}

TEST(SpecErrors, NestingLimit) {
    // Deep nesting parses in nlohmann but overflows the stack when copied or dumped.
    auto nested = [](size_t depth) {
        return "{\"ociVersion\":\"1.2.0\",\"x\":" + std::string(depth, '[') + "\"]]]{{{\"" +
               std::string(depth, ']') + "}";
    };
    auto fine = parse_config(nested(500));
    ASSERT_TRUE(fine.ok()) << fine.error().str();
    EXPECT_TRUE(fine->extensions.contains("x"));
    auto deep = parse_config(nested(200000));
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().str(),
              "invalid JSON at line 1, column 538: nested deeper than 512 levels");
}
