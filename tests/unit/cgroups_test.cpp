// Unit tests for the cgroups library: layout parsing, conversions, and every controller's
// writer against a temporary directory of knob files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <fstream>

#include "base/file.hpp"
#include "base/mountinfo.hpp"
#include "runtime/cgroups/cgroups.hpp"

using namespace berth;
using namespace berth::cgroups;

namespace {

class TempCg : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cg-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { (void)remove_all(dir); }
    // Creates knob files (the kernel's files exist before anyone writes them).
    void knobs(std::initializer_list<std::pair<const char*, const char*>> kv) {
        for (auto& [k, v] : kv)
            std::ofstream(dir + "/" + k) << v;
    }
    std::string get(const std::string& name) {
        auto r = read_file(dir + "/" + name);
        return r ? r.value() : "<missing>";
    }
    std::string dir;
    Warnings w;
};

const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

}  // namespace

TEST(Layout, Hybrid) {
    auto l = parse_layout(kHybridMountinfo, "hugetlb\n");
    ASSERT_TRUE(l.ok()) << l.error().str();
    EXPECT_EQ(l->mode, Mode::hybrid);
    EXPECT_EQ(l->unified, "/sys/fs/cgroup/unified");
    EXPECT_TRUE(l->has_v1("memory"));
    EXPECT_TRUE(l->has_v1("name=systemd"));
    EXPECT_FALSE(l->has_v1("hugetlb"));
    EXPECT_TRUE(l->on_v2("hugetlb"));
    EXPECT_FALSE(l->on_v2("memory"));
    EXPECT_STREQ(mode_name(l->mode), "hybrid");
}

TEST(Layout, PureV2AndV1AndCombinedMounts) {
    auto v2 = parse_layout("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                           "cpuset cpu io memory pids\n");
    ASSERT_TRUE(v2.ok());
    EXPECT_EQ(v2->mode, Mode::v2);
    EXPECT_TRUE(v2->on_v2("memory"));
    EXPECT_EQ(v2->v2_controllers.count("io"), 1u);

    auto v1 = parse_layout(
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "36 31 0:32 / /mnt/again rw - cgroup cgroup rw,memory\n",
        "");
    ASSERT_TRUE(v1.ok());
    EXPECT_EQ(v1->mode, Mode::v1);
    ASSERT_EQ(v1->v1.size(), 2u);  // the second memory mount is a bind of the first
    EXPECT_EQ(v1->v1[v1->v1_by_controller.at("cpuacct")].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");

    EXPECT_FALSE(parse_layout("22 1 0:5 / /proc rw - proc proc rw\n", "").ok());
}

TEST(Layout, ProcSelfCgroup) {
    auto m = berth::parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/\n0::/u\n");
    EXPECT_EQ(m["memory"], "/a/b");
    EXPECT_EQ(m["cpuacct"], "/c");
    EXPECT_EQ(m["name=systemd"], "/");
    EXPECT_EQ(m[""], "/u");
}

TEST(Paths, AbsoluteRelativeEmpty) {
    auto l = parse_layout(kHybridMountinfo, "hugetlb");
    ASSERT_TRUE(l.ok());
    std::map<std::string, std::string> own = {{"memory", "/session/x"}, {"", "/"}};
    auto a = Manager::create(*l, "/a/b", "id", false, own);
    ASSERT_TRUE(a.ok()) << a.error().str();
    EXPECT_EQ(a->path("memory"), "/sys/fs/cgroup/memory/a/b");
    EXPECT_EQ(a->path("name=systemd"), "/sys/fs/cgroup/systemd/a/b");
    EXPECT_EQ(a->path(""), "/sys/fs/cgroup/unified/a/b");
    // Hybrid: hugetlb lives on cgroup2 but is only enabled when a resource asks for it.
    EXPECT_EQ(a->path("hugetlb"), "");
    EXPECT_EQ(a->path("pids"), "");  // not mounted in this fake layout

    auto r = Manager::create(*l, "rel/c", "id", false, own);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->path("memory"), "/sys/fs/cgroup/memory/session/x/rel/c");
    EXPECT_EQ(r->path("cpu"), "/sys/fs/cgroup/cpu/rel/c");

    auto e = Manager::create(*l, "", "web", false, own);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->path("freezer"), "/sys/fs/cgroup/freezer/berth/web");

    EXPECT_FALSE(Manager::create(*l, "/a/../../etc", "id", false, own).ok());
    auto colon = Manager::create(*l, "system.slice:berth:x", "id", false, own);
    ASSERT_FALSE(colon.ok());
    EXPECT_NE(colon.error().message().find("--systemd-cgroup"), std::string::npos);
}

TEST(Paths, StateRoundTrip) {
    auto l = parse_layout(kHybridMountinfo, "hugetlb");
    auto m = Manager::create(*l, "/x", "id", false, {});
    ASSERT_TRUE(m.ok());
    auto back = Manager::from_state(m->to_state());
    ASSERT_TRUE(back.ok()) << back.error().str();
    EXPECT_EQ(back->path("memory"), "/sys/fs/cgroup/memory/x");
    EXPECT_EQ(back->path("hugetlb"), "");
    EXPECT_EQ(back->v2_path(), "/sys/fs/cgroup/unified/x");
    EXPECT_EQ(back->mode(), Mode::hybrid);
    EXPECT_FALSE(Manager::from_state(nlohmann::json{{"mode", "v3"}}).ok());
}

TEST(Systemd, PathExpansion) {
    auto p = systemd_path("system.slice:berth:abc", "id");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, "/system.slice/berth-abc.scope");
    p = systemd_path("a-b-c.slice:pfx:n", "id");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, "/a.slice/a-b.slice/a-b-c.slice/pfx-n.scope");
    p = systemd_path("", "ctr");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, "/system.slice/berth-ctr.scope");
    EXPECT_FALSE(systemd_path("nope", "id").ok());
    EXPECT_FALSE(systemd_path("bad:p:n", "id").ok());
    EXPECT_FALSE(systemd_path("a--b.slice:p:n", "id").ok());
    if (!systemd_running()) {
        auto l = parse_layout(kHybridMountinfo, "");
        auto m = Manager::create(*l, "system.slice:berth:x", "x", true, {});
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("systemd"), std::string::npos);
    }
}

TEST(Convert, SharesWeightSwapBlkio) {
    EXPECT_EQ(shares_to_weight(2), 1u);
    EXPECT_EQ(shares_to_weight(1024), 39u);  // 1 + 1022*9999/262142
    EXPECT_EQ(shares_to_weight(262144), 10000u);
    EXPECT_EQ(shares_to_weight(0), 0u);
    EXPECT_EQ(weight_to_shares(1), 2u);
    EXPECT_EQ(weight_to_shares(10000), 262144u);
    EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
    EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
    EXPECT_EQ(swap_to_v2(200, 100).value(), 100);
    EXPECT_EQ(swap_to_v2(-1, 100).value(), -1);
    EXPECT_EQ(swap_to_v2(0, -1).value(), -1);
    EXPECT_EQ(swap_to_v2(0, 100).value(), 0);
    EXPECT_FALSE(swap_to_v2(50, 100).ok());
    EXPECT_FALSE(swap_to_v2(50, 0).ok());
}

TEST_F(TempCg, MemoryV1OrderAndKnobs) {
    knobs({{"memory.limit_in_bytes", "9223372036854771712"},
           {"memory.memsw.limit_in_bytes", "9223372036854771712"},
           {"memory.soft_limit_in_bytes", ""},
           {"memory.swappiness", "60"},
           {"memory.oom_control", ""},
           {"memory.kmem.tcp.limit_in_bytes", ""},
           {"memory.use_hierarchy", "1"}});
    spec::Memory m;
    m.limit = 64 << 20;
    m.swap = 128 << 20;
    m.reservation = 32 << 20;
    m.swappiness = 10;
    m.disable_oom_killer = true;
    m.kernel = 1 << 20;
    m.kernel_tcp = 1 << 20;
    ASSERT_TRUE(v1::memory(dir, m, w).ok());
    EXPECT_EQ(get("memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(get("memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(get("memory.soft_limit_in_bytes"), "33554432");
    EXPECT_EQ(get("memory.swappiness"), "10");
    EXPECT_EQ(get("memory.oom_control"), "1");
    EXPECT_EQ(get("memory.kmem.tcp.limit_in_bytes"), "1048576");
    ASSERT_EQ(w.size(), 1u);  // kernel memory ignored
    EXPECT_NE(w[0].find("memory.kernel"), std::string::npos);

    spec::Memory unl;
    unl.limit = -1;
    ASSERT_TRUE(v1::memory(dir, unl, w).ok());
    EXPECT_EQ(get("memory.limit_in_bytes"), "-1");
    EXPECT_EQ(get("memory.memsw.limit_in_bytes"), "-1");

    spec::Memory bad;
    bad.swappiness = 101;
    EXPECT_FALSE(v1::memory(dir, bad, w).ok());
}

TEST_F(TempCg, MemoryCheckBeforeUpdate) {
    knobs({{"memory.max", "max"}, {"memory.current", "1000000"}});
    spec::Memory m;
    m.limit = 4096;
    m.check_before_update = true;
    auto st = v2::memory(dir, m, w);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("checkBeforeUpdate"), std::string::npos);
    EXPECT_EQ(get("memory.max"), "max");
}

TEST_F(TempCg, MemoryV2SwapConversion) {
    knobs({{"memory.max", "max"}, {"memory.swap.max", "max"}, {"memory.low", "0"}});
    spec::Memory m;
    m.limit = 100 << 20;
    m.swap = 150 << 20;
    m.reservation = 10 << 20;
    m.swappiness = 5;
    ASSERT_TRUE(v2::memory(dir, m, w).ok());
    EXPECT_EQ(get("memory.max"), "104857600");
    EXPECT_EQ(get("memory.swap.max"), "52428800");
    EXPECT_EQ(get("memory.low"), "10485760");
    EXPECT_EQ(w.size(), 1u);  // swappiness

    spec::Memory same;
    same.limit = 1 << 20;
    same.swap = 1 << 20;
    ASSERT_TRUE(v2::memory(dir, same, w).ok());
    EXPECT_EQ(get("memory.swap.max"), "0");

    spec::Memory unl;
    unl.limit = -1;
    ASSERT_TRUE(v2::memory(dir, unl, w).ok());
    EXPECT_EQ(get("memory.max"), "max");
    EXPECT_EQ(get("memory.swap.max"), "max");

    spec::Memory bad;
    bad.limit = 100;
    bad.swap = 50;
    EXPECT_FALSE(v2::memory(dir, bad, w).ok());
}

TEST_F(TempCg, CpuV1) {
    knobs({{"cpu.shares", "1024"},
           {"cpu.cfs_period_us", ""},
           {"cpu.cfs_quota_us", ""},
           {"cpu.cfs_burst_us", ""},
           {"cpu.rt_period_us", ""},
           {"cpu.rt_runtime_us", ""},
           {"cpu.idle", ""}});
    spec::Cpu c;
    c.shares = 512;
    c.quota = 50000;
    c.period = 100000;
    c.burst = 1000;
    c.realtime_period = 1000000;
    c.realtime_runtime = 950000;
    c.idle = 0;
    ASSERT_TRUE(v1::cpu(dir, c, w).ok());
    EXPECT_EQ(get("cpu.shares"), "512");
    EXPECT_EQ(get("cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(get("cpu.cfs_period_us"), "100000");
    EXPECT_EQ(get("cpu.cfs_burst_us"), "1000");
    EXPECT_EQ(get("cpu.rt_period_us"), "1000000");
    EXPECT_EQ(get("cpu.rt_runtime_us"), "950000");
    EXPECT_EQ(get("cpu.idle"), "0");
}

TEST_F(TempCg, CpuV2) {
    knobs({{"cpu.weight", "100"},
           {"cpu.max", "max 100000"},
           {"cpu.max.burst", "0"},
           {"cpu.idle", "0"},
           {"cpuset.cpus", ""},
           {"cpuset.mems", ""}});
    spec::Cpu c;
    c.shares = 1024;
    c.quota = 20000;
    c.period = 50000;
    c.burst = 500;
    c.cpus = "0";
    c.mems = "0";
    ASSERT_TRUE(v2::cpu(dir, c, w).ok());
    ASSERT_TRUE(v2::cpuset(dir, c).ok());
    EXPECT_EQ(get("cpu.weight"), "39");
    EXPECT_EQ(get("cpu.max"), "20000 50000");
    EXPECT_EQ(get("cpu.max.burst"), "500");
    EXPECT_EQ(get("cpuset.cpus"), "0");
    spec::Cpu unl;
    unl.quota = -1;
    ASSERT_TRUE(v2::cpu(dir, unl, w).ok());
    EXPECT_EQ(get("cpu.max"), "max");
    spec::Cpu rt;
    rt.realtime_runtime = 5;
    EXPECT_FALSE(v2::cpu(dir, rt, w).ok());
}

TEST_F(TempCg, Pids) {
    knobs({{"pids.max", "max"}});
    spec::Pids p;
    p.limit = 42;
    ASSERT_TRUE(v1::pids(dir, p).ok());
    EXPECT_EQ(get("pids.max"), "42");
    p.limit = -1;
    ASSERT_TRUE(v2::pids(dir, p).ok());
    EXPECT_EQ(get("pids.max"), "max");
}

TEST_F(TempCg, BlkioV1Bfq) {
    knobs({{"blkio.bfq.weight", ""},
           {"blkio.bfq.weight_device", ""},
           {"blkio.throttle.read_bps_device", ""},
           {"blkio.throttle.write_iops_device", ""}});
    spec::BlockIO b;
    b.weight = 300;
    spec::WeightDevice wd;
    wd.major = 8;
    wd.minor = 0;
    wd.weight = 200;
    b.weight_device.push_back(wd);
    b.throttle_read_bps_device.push_back({8, 0, 1048576});
    b.throttle_write_iops_device.push_back({8, 16, 100});
    ASSERT_TRUE(v1::blkio(dir, b).ok());
    EXPECT_EQ(get("blkio.bfq.weight"), "300");
    EXPECT_EQ(get("blkio.bfq.weight_device"), "8:0 200");
    EXPECT_EQ(get("blkio.throttle.read_bps_device"), "8:0 1048576");
    EXPECT_EQ(get("blkio.throttle.write_iops_device"), "8:16 100");
}

TEST_F(TempCg, IoV2) {
    knobs({{"io.weight", ""}, {"io.max", ""}});
    spec::BlockIO b;
    b.weight = 1000;
    b.throttle_write_bps_device.push_back({253, 1, 4096});
    ASSERT_TRUE(v2::io(dir, b).ok());
    EXPECT_EQ(get("io.weight"), "10000");
    EXPECT_EQ(get("io.max"), "253:1 wbps=4096");
    knobs({{"io.bfq.weight", ""}});
    b.throttle_write_bps_device.clear();
    b.weight = 500;
    ASSERT_TRUE(v2::io(dir, b).ok());
    EXPECT_EQ(get("io.bfq.weight"), "500");
}

TEST_F(TempCg, Hugetlb) {
    knobs({{"hugetlb.2MB.max", "max"},
           {"hugetlb.2MB.rsvd.max", "max"},
           {"hugetlb.2MB.limit_in_bytes", ""}});
    std::vector<spec::HugepageLimit> h = {{"2MB", 4194304}};
    ASSERT_TRUE(v2::hugetlb(dir, h).ok());
    EXPECT_EQ(get("hugetlb.2MB.max"), "4194304");
    EXPECT_EQ(get("hugetlb.2MB.rsvd.max"), "4194304");
    ASSERT_TRUE(v1::hugetlb(dir, h).ok());
    EXPECT_EQ(get("hugetlb.2MB.limit_in_bytes"), "4194304");
    auto bad = v2::hugetlb(dir, {{"1GB", 1}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("1GB"), std::string::npos);
}

TEST_F(TempCg, NetworkAndRdma) {
    knobs({{"net_cls.classid", ""}, {"net_prio.ifpriomap", ""}, {"rdma.max", ""}});
    spec::Network n;
    n.class_id = 0x100001;
    n.priorities.push_back({"eth0", 5});
    ASSERT_TRUE(v1::net_cls(dir, n).ok());
    ASSERT_TRUE(v1::net_prio(dir, n).ok());
    EXPECT_EQ(get("net_cls.classid"), "1048577");
    EXPECT_EQ(get("net_prio.ifpriomap"), "eth0 5");
    std::map<std::string, spec::Rdma> r;
    r["mlx4_0"].hca_handles = 2;
    r["mlx4_0"].hca_objects = 2000;
    ASSERT_TRUE(v2::rdma(dir, r).ok());
    EXPECT_EQ(get("rdma.max"), "mlx4_0 hca_handle=2 hca_object=2000");
}

TEST_F(TempCg, DevicesV1) {
    knobs({{"devices.allow", ""}, {"devices.deny", ""}});
    std::vector<spec::DeviceCgroup> rules(2);
    rules[0].allow = false;
    rules[0].access = "rwm";
    rules[1].allow = true;
    rules[1].type = "c";
    rules[1].major = 1;
    rules[1].access = "rw";
    ASSERT_TRUE(v1::devices(dir, rules).ok());
    EXPECT_EQ(get("devices.deny"), "a");
    EXPECT_EQ(get("devices.allow"), "c 1:* rw");
    rules[1].type = "x";
    auto st = v1::devices(dir, rules);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("devices[1].type"), std::string::npos);
}

TEST(Devices, DefaultRulesAppended) {
    spec::Linux l;
    l.resources.emplace();
    l.resources->devices.resize(1);  // deny all
    spec::Device d;
    d.type = "b";
    d.path = "/dev/sda";
    d.major = 8;
    l.devices.push_back(d);
    auto r = container_device_rules(l);
    // The deny-all, then runc's eleven defaults; /dev/sda gets no allow rule.
    ASSERT_EQ(r.size(), 12u);
    EXPECT_FALSE(r[0].allow);
    for (size_t i = 1; i < r.size(); ++i) {
        EXPECT_TRUE(r[i].allow);
        EXPECT_FALSE(r[i].major && *r[i].major == 8) << i;
    }
    EXPECT_EQ(r.back().type, "c");
    EXPECT_EQ(*r.back().major, 10);
}

TEST(Devices, FilterProgramShape) {
    // deny all, then allow c 1:3 rw: blocks are walked last rule first.
    std::vector<spec::DeviceCgroup> rules(2);
    rules[1].allow = true;
    rules[1].type = "c";
    rules[1].major = 1;
    rules[1].minor = 3;
    rules[1].access = "rw";
    auto p = device_filter_program(rules);
    // prologue 6 + block(type, mov, and, jne, major, minor, r0, exit = 8) + deny-all block(2);
    // no default tail after a rule that matches everything (it would be unreachable).
    ASSERT_EQ(p.size(), 16u);
    EXPECT_EQ(p[6].code, BPF_JMP | BPF_JNE | BPF_K);
    EXPECT_EQ(p[6].imm, BPF_DEVCG_DEV_CHAR);
    EXPECT_EQ(p[6].off, 7);  // to the deny-all block at index 14
    EXPECT_EQ(p[10].imm, 1);
    EXPECT_EQ(p[11].imm, 3);
    EXPECT_EQ(p[12].imm, 1);  // allow
    EXPECT_EQ(p[14].imm, 0);  // the deny-all block
    EXPECT_EQ(p.back().code, BPF_JMP | BPF_EXIT);
}

TEST_F(TempCg, UnifiedKeys) {
    knobs({{"memory.high", "max"}, {"cgroup.max.depth", "max"}});
    ASSERT_TRUE(v2::unified(dir, {{"memory.high", "1000"}}, {"memory"}).ok());
    EXPECT_EQ(get("memory.high"), "1000");
    EXPECT_TRUE(v2::unified(dir, {{"cgroup.max.depth", "3"}}, {}).ok());
    auto st = v2::unified(dir, {{"memory.high", "1"}}, {"hugetlb"});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("memory"), std::string::npos);
    EXPECT_FALSE(v2::unified(dir, {{"../x.y", "1"}}, {"x"}).ok());
    EXPECT_FALSE(v2::unified(dir, {{"pids.nosuch", "1"}}, {"pids"}).ok());
}

TEST(Paths, FlatMapRoundTrip) {
    auto l = parse_layout(kHybridMountinfo, "hugetlb");
    auto m = Manager::create(*l, "/x/y", "id", false, {});
    ASSERT_TRUE(m.ok());
    auto p = m->paths();
    EXPECT_EQ(p.at(""), "/sys/fs/cgroup/unified/x/y");
    EXPECT_EQ(p.at("memory"), "/sys/fs/cgroup/memory/x/y");
    EXPECT_FALSE(Manager::from_paths({}).ok());
    EXPECT_FALSE(Manager::from_paths({{"memory", "/sys/fs/cgroup/memory/../../etc"}}).ok());
}

namespace {
// A hybrid layout whose hierarchies are plain directories under `root`.
Layout fake_hybrid(const std::string& root) {
    std::string mi;
    int n = 50;
    for (const char* c : {"cpu", "memory"}) {
        ::mkdir((root + "/" + c).c_str(), 0755);
        mi += std::to_string(n++) + " 1 0:9 / " + root + "/" + c + " rw - cgroup cgroup rw," + c +
              "\n";
    }
    ::mkdir((root + "/unified").c_str(), 0755);
    mi += std::to_string(n) + " 1 0:9 / " + root + "/unified rw - cgroup2 cgroup2 rw\n";
    return parse_layout(mi, "hugetlb").value();
}
}  // namespace

TEST_F(TempCg, DestroyKeepsTheDefaultParentWhenItsLastContainerGoes) {
    Layout l = fake_hybrid(dir);
    auto a = Manager::create(l, "", "a", false, {});
    auto b = Manager::create(l, "", "b", false, {});
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(a->make().ok());
    ASSERT_TRUE(b->make().ok());
    for (const char* h : {"cpu", "memory", "unified"}) {
        EXPECT_TRUE(path_exists(dir + "/" + h + "/berth/a"));
        EXPECT_TRUE(path_exists(dir + "/" + h + "/berth/b"));
    }
    // The state round trip is what delete sees.
    auto a2 = Manager::from_state(a->to_state());
    ASSERT_TRUE(a2.ok());
    ASSERT_TRUE(a2->destroy(false).ok());
    for (const char* h : {"cpu", "memory", "unified"}) {
        EXPECT_FALSE(path_exists(dir + "/" + h + "/berth/a"));
        EXPECT_TRUE(path_exists(dir + "/" + h + "/berth")) << "b still lives there";
    }
    ASSERT_TRUE(b->destroy(false).ok());
    // /berth is berth's own and stays for the next container (docs/cgroups.md).
    for (const char* h : {"cpu", "memory", "unified"}) {
        EXPECT_FALSE(path_exists(dir + "/" + h + "/berth/b")) << h;
        EXPECT_TRUE(path_exists(dir + "/" + h + "/berth")) << h;
    }
    // Hybrid: nothing was enabled in the unified hierarchy without a resource asking.
    EXPECT_EQ(b->path("hugetlb"), "");
}

TEST_F(TempCg, DestroyRemovesOnlyTheParentsMakeCreated) {
    Layout l = fake_hybrid(dir);
    for (const char* h : {"cpu", "memory", "unified"})
        ASSERT_EQ(::mkdir((dir + "/" + h + "/keep").c_str(), 0755), 0);
    auto m = Manager::create(l, "/keep/x/y/c", "c", false, {});
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->make().ok());
    EXPECT_TRUE(path_exists(dir + "/memory/keep/x/y/c"));
    auto back = Manager::from_state(m->to_state());
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(back->destroy(false).ok());
    for (const char* h : {"cpu", "memory", "unified"}) {
        EXPECT_FALSE(path_exists(dir + "/" + h + "/keep/x")) << h;
        EXPECT_TRUE(path_exists(dir + "/" + h + "/keep")) << h;
    }
    // A parent that is not empty stays: another cgroup berth did not make lives there.
    auto m2 = Manager::create(l, "/keep/x/c2", "c2", false, {});
    ASSERT_TRUE(m2->make().ok());
    ASSERT_EQ(::mkdir((dir + "/cpu/keep/x/other").c_str(), 0755), 0);
    ASSERT_TRUE(m2->destroy(false).ok());
    EXPECT_TRUE(path_exists(dir + "/cpu/keep/x/other"));
    EXPECT_FALSE(path_exists(dir + "/memory/keep/x"));
}

TEST(Resources, UpdateMergesIntoTheSavedSet) {
    spec::Resources base;
    base.memory.emplace();
    base.memory->limit = 64 << 20;
    base.memory->swap = 128 << 20;
    base.cpu.emplace();
    base.cpu->quota = 50000;
    base.cpu->period = 100000;
    base.cpu->cpus = "0";
    base.pids = spec::Pids{40};
    base.hugepage_limits = {{"2MB", 4 << 20}};
    base.unified = {{"memory.high", "max"}};
    spec::Resources u;
    u.cpu.emplace();
    u.cpu->quota = 20000;
    u.pids = spec::Pids{};  // a pids block without a limit changes nothing
    u.hugepage_limits = {{"2MB", 8 << 20}, {"1GB", 0}};
    u.unified = {{"pids.max", "9"}};
    auto r = merge_resources(base, u);
    EXPECT_EQ(*r.memory->limit, 64 << 20);
    EXPECT_EQ(*r.cpu->quota, 20000);
    EXPECT_EQ(*r.cpu->period, 100000u);
    EXPECT_EQ(r.cpu->cpus, "0");
    EXPECT_EQ(*r.pids->limit, 40);
    ASSERT_EQ(r.hugepage_limits.size(), 2u);
    EXPECT_EQ(r.hugepage_limits[0].limit, 8u << 20);
    EXPECT_EQ(r.unified.size(), 2u);
    // runc: memory -1 without a swap value lifts swap too.
    spec::Resources unl;
    unl.memory.emplace();
    unl.memory->limit = -1;
    auto r2 = merge_resources(base, unl);
    EXPECT_EQ(*r2.memory->swap, -1);
}

namespace {
// A small interpreter for the instructions device_filter_program emits (what the kernel runs
// on a pure v2 host), so the filter's decisions can be checked here: youki's approach.
int run_device_filter(const std::vector<BpfInsn>& p, uint32_t type, uint32_t access, uint32_t major,
                      uint32_t minor) {
    uint32_t ctx[3] = {type | (access << 16), major, minor};
    uint64_t r[11] = {};
    for (size_t pc = 0; pc < p.size(); ++pc) {
        const BpfInsn& i = p[pc];
        int dst = i.regs & 0xf, src = i.regs >> 4;
        switch (i.code) {
            case BPF_LDX | BPF_MEM | BPF_W:
                r[dst] = ctx[i.off / 4];
                break;
            case BPF_ALU | BPF_AND | BPF_K:
                r[dst] = uint32_t(r[dst]) & uint32_t(i.imm);
                break;
            case BPF_ALU | BPF_RSH | BPF_K:
                r[dst] = uint32_t(r[dst]) >> i.imm;
                break;
            case BPF_ALU | BPF_MOV | BPF_X:
                r[dst] = uint32_t(r[src]);
                break;
            case BPF_ALU64 | BPF_MOV | BPF_K:
                r[dst] = uint64_t(int64_t(i.imm));
                break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (r[dst] != uint64_t(int64_t(i.imm))) pc += i.off;
                break;
            case BPF_JMP | BPF_EXIT:
                return int(r[0]);
            default:
                ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc;
                return -1;
        }
    }
    ADD_FAILURE() << "fell off the program";
    return -1;
}
}  // namespace

TEST(Devices, FilterDeniesListedDeviceTheRulesDeny) {
    // #21.2: deny-all plus /dev/kmsg in linux.devices: the node gets no allow rule.
    spec::Linux l;
    l.resources.emplace();
    l.resources->devices.resize(1);
    l.resources->devices[0].access = "rwm";
    spec::Device kmsg;
    kmsg.type = "c";
    kmsg.path = "/dev/kmsg";
    kmsg.major = 1;
    kmsg.minor = 11;
    l.devices.push_back(kmsg);
    auto prog = device_filter_program(container_device_rules(l));
    const uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
    const uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;
    EXPECT_EQ(run_device_filter(prog, C, W, 1, 11), 0);       // write /dev/kmsg
    EXPECT_EQ(run_device_filter(prog, C, R, 1, 11), 0);       // read it
    EXPECT_EQ(run_device_filter(prog, C, M, 1, 11), 1);       // mknod: c *:* m
    EXPECT_EQ(run_device_filter(prog, C, R | W, 1, 3), 1);    // /dev/null
    EXPECT_EQ(run_device_filter(prog, C, R | W, 136, 4), 1);  // a pty slave
    EXPECT_EQ(run_device_filter(prog, B, R, 8, 0), 0);        // a disk
    EXPECT_EQ(run_device_filter(prog, B, M, 8, 0), 1);        // mknod of it
    // An explicit allow after the deny opens it, for the access it names only.
    spec::DeviceCgroup allow;
    allow.allow = true;
    allow.type = "c";
    allow.major = 1;
    allow.minor = 11;
    allow.access = "r";
    l.resources->devices.push_back(allow);
    prog = device_filter_program(container_device_rules(l));
    EXPECT_EQ(run_device_filter(prog, C, R, 1, 11), 1);
    EXPECT_EQ(run_device_filter(prog, C, W, 1, 11), 0);
    EXPECT_EQ(run_device_filter(prog, C, R | W, 1, 11), 0);
}
