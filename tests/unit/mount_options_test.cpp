// The mount option table: flags, propagation, recursive attributes, data pass-through and the
// errors that name the option.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/sysctl.hpp"

using namespace berth;
using namespace berth::runtime::linux_;

namespace {

MountOptions parse(std::vector<std::string> opts, bool bind_type = false) {
    auto r = parse_mount_options(opts, bind_type, "mounts[3]");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().str());
    return r.ok() ? r.value() : MountOptions{};
}

std::string parse_error(std::vector<std::string> opts, bool bind_type = false) {
    auto r = parse_mount_options(opts, bind_type, "mounts[3]");
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error().message();
}

TEST(MountOptions, FlagsSetAndClear) {
    struct Case {
        const char* opt;
        unsigned long set, clear;
    } cases[] = {
        {"ro", MS_RDONLY, 0},
        {"rw", 0, MS_RDONLY},
        {"nosuid", MS_NOSUID, 0},
        {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},
        {"dev", 0, MS_NODEV},
        {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},
        {"sync", MS_SYNCHRONOUS, 0},
        {"async", 0, MS_SYNCHRONOUS},
        {"dirsync", MS_DIRSYNC, 0},
        {"remount", MS_REMOUNT, 0},
        {"mand", MS_MANDLOCK, 0},
        {"nomand", 0, MS_MANDLOCK},
        {"noatime", MS_NOATIME, 0},
        {"atime", 0, MS_NOATIME},
        {"nodiratime", MS_NODIRATIME, 0},
        {"diratime", 0, MS_NODIRATIME},
        {"relatime", MS_RELATIME, 0},
        {"norelatime", 0, MS_RELATIME},
        {"strictatime", MS_STRICTATIME, 0},
        {"nostrictatime", 0, MS_STRICTATIME},
        {"nosymfollow", MS_NOSYMFOLLOW, 0},
        {"bind", MS_BIND, 0},
        {"rbind", MS_BIND | MS_REC, 0},
    };
    for (auto& c : cases) {
        auto mo = parse({c.opt});
        EXPECT_EQ(mo.flags, c.set) << c.opt;
        EXPECT_EQ(mo.cleared, c.clear) << c.opt;
        EXPECT_TRUE(mo.data.empty()) << c.opt;
    }
}

TEST(MountOptions, LaterOptionWins) {
    auto mo = parse({"ro", "rw"});
    EXPECT_EQ(mo.flags & MS_RDONLY, 0u);
    EXPECT_EQ(mo.mount_attrs().clr & MOUNT_ATTR_RDONLY, uint64_t(MOUNT_ATTR_RDONLY));
    mo = parse({"rw", "ro"});
    EXPECT_EQ(mo.mount_attrs().set & MOUNT_ATTR_RDONLY, uint64_t(MOUNT_ATTR_RDONLY));
}

TEST(MountOptions, Propagation) {
    auto mo = parse({"rprivate", "slave", "rshared", "unbindable", "runbindable", "private",
                     "rslave", "shared"});
    std::vector<unsigned long> want = {
        MS_PRIVATE | MS_REC,    MS_SLAVE,   MS_SHARED | MS_REC, MS_UNBINDABLE,
        MS_UNBINDABLE | MS_REC, MS_PRIVATE, MS_SLAVE | MS_REC,  MS_SHARED};
    EXPECT_EQ(mo.propagation, want);
    EXPECT_EQ(parse_propagation("rslave").value(), MS_SLAVE | MS_REC);
    EXPECT_FALSE(parse_propagation("sideways").ok());
}

TEST(MountOptions, RecursiveAttributes) {
    auto mo = parse({"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
                    true);
    EXPECT_EQ(mo.recursive.set,
              uint64_t(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                       MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));
    EXPECT_EQ(mo.recursive.clr, 0u);
    mo = parse({"rbind", "rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"}, true);
    EXPECT_EQ(mo.recursive.set, 0u);
    EXPECT_EQ(mo.recursive.clr,
              uint64_t(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                       MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));
}

TEST(MountOptions, RecursiveAtimeChangesTheWholeField) {
    struct Case {
        const char* opt;
        uint64_t mode;
    } cases[] = {{"rnoatime", MOUNT_ATTR_NOATIME},        {"rstrictatime", MOUNT_ATTR_STRICTATIME},
                 {"rrelatime", MOUNT_ATTR_RELATIME},      {"ratime", MOUNT_ATTR_RELATIME},
                 {"rnostrictatime", MOUNT_ATTR_RELATIME}, {"rnorelatime", MOUNT_ATTR_STRICTATIME}};
    for (auto& c : cases) {
        auto mo = parse({"rbind", c.opt}, true);
        EXPECT_EQ(mo.recursive.clr & MOUNT_ATTR__ATIME, uint64_t(MOUNT_ATTR__ATIME)) << c.opt;
        EXPECT_EQ(mo.recursive.set & MOUNT_ATTR__ATIME, c.mode) << c.opt;
    }
}

TEST(MountOptions, MountAttrsOnlyTouchNamedFlags) {
    auto mo = parse({"bind", "ro", "nosuid"});
    auto a = mo.mount_attrs();
    EXPECT_EQ(a.set, uint64_t(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(a.clr, 0u);
    mo = parse({"bind", "noatime"});
    a = mo.mount_attrs();
    EXPECT_EQ(a.set, uint64_t(MOUNT_ATTR_NOATIME));
    EXPECT_EQ(a.clr, uint64_t(MOUNT_ATTR__ATIME));
}

TEST(MountOptions, UnknownOptionsAreData) {
    auto mo = parse({"nosuid", "mode=755", "size=65536k", "newinstance", "x-systemd.foo"});
    EXPECT_EQ(mo.data, (std::vector<std::string>{"mode=755", "size=65536k", "newinstance"}));
    EXPECT_EQ(mo.data_string(), "mode=755,size=65536k,newinstance");
}

TEST(MountOptions, IdmapTmpcopyup) {
    auto mo = parse({"rbind", "ridmap"}, true);
    EXPECT_TRUE(mo.idmap);
    EXPECT_TRUE(mo.idmap_recursive);
    mo = parse({"bind", "idmap"});
    EXPECT_TRUE(mo.idmap);
    EXPECT_FALSE(mo.idmap_recursive);
    mo = parse({"tmpcopyup", "mode=755"});
    EXPECT_TRUE(mo.tmpcopyup);
}

TEST(MountOptions, BindTypeIsABind) {
    auto mo = parse({"ro"}, true);
    EXPECT_TRUE(mo.bind());
    EXPECT_FALSE(mo.recursive_bind());
    mo = parse({"rbind", "mode=755"}, true);
    EXPECT_TRUE(mo.data.empty());  // a bind has no filesystem data
}

TEST(MountOptions, ErrorsNameTheOption) {
    EXPECT_EQ(parse_error({"rbind", "rprivat"}, true),
              "mounts[3].options[1]: unknown option 'rprivat' for a bind mount");
    EXPECT_EQ(parse_error({"bind", "nosuid", "bogus"}),
              "mounts[3].options[2]: unknown option 'bogus' for a bind mount");
    EXPECT_EQ(parse_error({"nosuid", ""}), "mounts[3].options[1]: empty mount option");
    EXPECT_EQ(parse_error({"mode=755,uid=0"}),
              "mounts[3].options[0]: mount option 'mode=755,uid=0' contains ','");
    EXPECT_NE(parse_error({"idmap"}).find("only to bind mounts"), std::string::npos);
    EXPECT_NE(parse_error({"rbind", "tmpcopyup"}, true).find("only to tmpfs"), std::string::npos);
}

TEST(Sysctl, KeyToPath) {
    EXPECT_EQ(sysctl_path("net.ipv4.ip_forward").value(), "net/ipv4/ip_forward");
    EXPECT_EQ(sysctl_path("net.ipv4.conf.eth0/100.rp_filter").value(),
              "net/ipv4/conf/eth0.100/rp_filter");
    EXPECT_FALSE(sysctl_path("net..x").ok());
    EXPECT_FALSE(sysctl_path("kernel/../..").ok());
    EXPECT_FALSE(sysctl_path("").ok());
}

TEST(Sysctl, NeedsTheIsolatingNamespace) {
    spec::Spec s;
    s.linux_ = spec::Linux{};
    s.linux_->sysctl = {{"net.ipv4.ip_forward", "1"}};
    auto st = validate_sysctl(s);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message(),
              "linux.sysctl.net.ipv4.ip_forward: needs a network namespace (it would change the "
              "host's)");
    s.linux_->namespaces = {{"network", ""}};
    EXPECT_TRUE(validate_sysctl(s).ok());
    s.linux_->sysctl = {{"kernel.shmmax", "1"}};
    EXPECT_FALSE(validate_sysctl(s).ok());
    s.linux_->namespaces.push_back({"ipc", ""});
    EXPECT_TRUE(validate_sysctl(s).ok());
    s.linux_->sysctl = {{"fs.mqueue.msg_max", "10"}};
    EXPECT_TRUE(validate_sysctl(s).ok());
    s.linux_->sysctl = {{"kernel.hostname", "x"}};
    EXPECT_FALSE(validate_sysctl(s).ok());
    s.linux_->sysctl = {{"kernel.core_pattern", "|/evil"}};
    EXPECT_FALSE(validate_sysctl(s).ok());
    s.linux_->sysctl = {{"vm.swappiness", "1"}};
    EXPECT_FALSE(validate_sysctl(s).ok());
}

}  // namespace

// plan_rootfs needs no privilege without idmap: the errors name the field.
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/linux/rootfs.hpp"

namespace {

class PlanRootfs : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-plan-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        bundle_ = tmpl;
        ASSERT_EQ(mkdir((bundle_ + "/rootfs").c_str(), 0755), 0);
        spec_.root = spec::Root{"rootfs", false};
        spec_.linux_ = spec::Linux{};
    }
    void TearDown() override {
        rmdir((bundle_ + "/rootfs").c_str());
        rmdir(bundle_.c_str());
    }
    std::string plan_error() {
        auto r = plan_rootfs(spec_, bundle_);
        EXPECT_FALSE(r.ok());
        return r.ok() ? "" : r.error().message();
    }
    std::string bundle_;
    spec::Spec spec_;
};

TEST_F(PlanRootfs, GoodPlan) {
    spec_.mounts.push_back({"/proc", "proc", "proc", {}, {}, {}});
    spec_.mounts.push_back({"/data", "bind", "rel/src", {"rbind", "ro"}, {}, {}});
    spec_.linux_->masked_paths = {"/proc/kcore"};
    spec_.linux_->rootfs_propagation = "rprivate";
    EXPECT_TRUE(plan_rootfs(spec_, bundle_).ok());
}

TEST_F(PlanRootfs, ErrorsNameTheField) {
    spec_.root.reset();
    EXPECT_EQ(plan_error(), "root.path: missing");
    spec_.root = spec::Root{"nope", false};
    EXPECT_EQ(plan_error(), "root.path: 'nope'");
    spec_.root = spec::Root{"rootfs", false};
    spec_.linux_->rootfs_propagation = "sideways";
    EXPECT_EQ(plan_error(), "linux.rootfsPropagation: unknown propagation 'sideways'");
    spec_.linux_->rootfs_propagation = "";
    spec_.mounts = {{"/ok", "tmpfs", "tmpfs", {}, {}, {}}, {"rel", "tmpfs", "tmpfs", {}, {}, {}}};
    EXPECT_EQ(plan_error(), "mounts[1].destination: 'rel' is not absolute");
    spec_.mounts = {{"/x", "bind", "", {"rbind"}, {}, {}}};
    EXPECT_EQ(plan_error(), "mounts[0].source: a bind mount needs a source");
    spec_.mounts = {{"/x", "proc", "proc", {}, {{0, 1000, 1}}, {{0, 1000, 1}}}};
    EXPECT_EQ(plan_error(), "mounts[0]: uidMappings apply only to bind mounts");
    spec_.mounts = {{"/x", "", "tmpfs", {}, {}, {}}};
    EXPECT_EQ(plan_error(), "mounts[0].type: empty for a non-bind mount");
    spec_.mounts = {{"/x", "bind", "/tmp", {"bind", "idmap"}, {}, {}}};
    EXPECT_EQ(plan_error(),
              "mounts[0]: idmap needs uidMappings/gidMappings on the mount or a "
              "user namespace mapping in linux");
    spec_.mounts.clear();
    spec_.linux_->masked_paths = {"/ok", "proc/kcore"};
    EXPECT_EQ(plan_error(), "linux.maskedPaths[1]: 'proc/kcore' is not absolute");
    spec_.linux_->masked_paths.clear();
    spec_.linux_->readonly_paths = {"sys"};
    EXPECT_EQ(plan_error(), "linux.readonlyPaths[0]: 'sys' is not absolute");
    spec_.linux_->readonly_paths.clear();
    spec_.linux_->devices = {spec::Device{"q", "/dev/q", 1, 1, {}, {}, {}}};
    EXPECT_EQ(plan_error(), "linux.devices[0].type: unknown device type 'q'");
}

}  // namespace
