#include "base/mountinfo.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

constexpr const char* kTable =
    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n"
    "30 22 0:27 / /proc/sys/fs/binfmt_misc rw,relatime shared:14 master:3 - autofs systemd-1 "
    "rw,fd=29\n"
    "41 25 0:35 /sub /sys/fs/cgroup/cpu\\040set rw - cgroup cgroup rw,cpu,cpuacct\n"
    "bad line\n"
    "50 1 0:40 / /mnt rw -\n";

TEST(Mountinfo, ParsesEveryField) {
    auto t = parse_mountinfo(kTable);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[0].id, 22);
    EXPECT_EQ(t[0].parent, 1);
    EXPECT_EQ(t[0].dev, "0:21");
    EXPECT_EQ(t[0].mount_point, "/proc");
    EXPECT_EQ(t[0].fstype, "proc");
    EXPECT_EQ(t[0].options.size(), 5u);
    EXPECT_EQ(t[0].optional, std::vector<std::string>{"shared:5"});
    EXPECT_EQ(t[1].optional.size(), 2u);
    EXPECT_EQ(t[1].source, "systemd-1");
    EXPECT_EQ(t[1].super_options, (std::vector<std::string>{"rw", "fd=29"}));
    EXPECT_EQ(t[2].root, "/sub");
    EXPECT_EQ(t[2].mount_point, "/sys/fs/cgroup/cpu set");
    EXPECT_TRUE(t[2].optional.empty());
    EXPECT_EQ(t[2].super_options, (std::vector<std::string>{"rw", "cpu", "cpuacct"}));
}

TEST(Mountinfo, UnescapesOnlyOctalTriples) {
    EXPECT_EQ(unescape_mountinfo("a\\040b\\011c\\134d"), "a b\tc\\d");
    EXPECT_EQ(unescape_mountinfo("x\\09"), "x\\09");
    EXPECT_EQ(unescape_mountinfo("tail\\04"), "tail\\04");
}

TEST(Mountinfo, ReadsOwnTable) {
    auto t = read_mountinfo();
    ASSERT_TRUE(t) << t.error().message();
    bool root = false;
    for (auto& m : *t)
        root = root || m.mount_point == "/";
    EXPECT_TRUE(root);
    EXPECT_FALSE(read_mountinfo("/nonexistent/mountinfo"));
}

TEST(CleanPath, Lexical) {
    EXPECT_EQ(clean_path("/proc/../proc/./sys//"), "/proc/sys");
    EXPECT_EQ(clean_path(""), "/");
    EXPECT_EQ(clean_path("/.."), "/");
    EXPECT_EQ(clean_path("dev"), "/dev");
}

}  // namespace
}  // namespace berth
