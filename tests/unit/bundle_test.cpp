// Bundle config from an image config: user resolution in the rootfs, env defaults, args,
// volumes, annotations; /etc/passwd that tries to point outside the rootfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file.hpp"
#include "imagetool/bundle/config.hpp"
#include "imagetool/bundle/user.hpp"

using namespace berth;
using namespace berth::image::bundle;

namespace {

class BundleConfig : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-bundle-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        ASSERT_TRUE(mkdir_p(top_ + "/rootfs/etc").ok());
        ASSERT_TRUE(write_file_atomic(top_ + "/rootfs/etc/passwd",
                                      "root:x:0:0:root:/root:/bin/sh\n"
                                      "app:x:1000:1000:app:/home/app:/bin/sh\n"
                                      "# comment\nbroken line\n")
                        .ok());
        ASSERT_TRUE(write_file_atomic(top_ + "/rootfs/etc/group",
                                      "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\n"
                                      "audio:x:29:app\nstaff:x:50:\n")
                        .ok());
        fd_.reset(open((top_ + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    void TearDown() override { (void)remove_all(top_); }
    std::string top_;
    UniqueFd fd_;
};

TEST_F(BundleConfig, UserByName) {
    auto u = resolve_user(fd_.get(), "app");
    ASSERT_TRUE(u) << u.error().str();
    EXPECT_EQ(u->uid, 1000u);
    EXPECT_EQ(u->gid, 1000u);
    EXPECT_EQ(u->home, "/home/app");
    EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 29}));
}

TEST_F(BundleConfig, UserForms) {
    EXPECT_EQ(resolve_user(fd_.get(), "")->uid, 0u);
    auto a = resolve_user(fd_.get(), "1000:50");
    EXPECT_EQ(a->uid, 1000u);
    EXPECT_EQ(a->gid, 50u);
    EXPECT_TRUE(a->additional_gids.empty());
    auto b = resolve_user(fd_.get(), "app:staff");
    EXPECT_EQ(b->gid, 50u);
    auto c = resolve_user(fd_.get(), "4242");  // numeric ids without an entry are kept
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uid, 4242u);
    EXPECT_EQ(c->gid, 0u);
    EXPECT_EQ(c->home, "");
}

TEST_F(BundleConfig, UnknownNamesAreErrors) {
    auto u = resolve_user(fd_.get(), "ghost");
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().str(), "user 'ghost' not found in the image's /etc/passwd");
    auto g = resolve_user(fd_.get(), "app:nogroup");
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().str(), "group 'nogroup' not found in the image's /etc/group");
}

TEST_F(BundleConfig, PasswdSymlinkStaysInRoot) {
    // /etc/passwd -> /etc/shadow-like host path: resolved inside the rootfs, where it is absent.
    ASSERT_EQ(unlink((top_ + "/rootfs/etc/passwd").c_str()), 0);
    ASSERT_EQ(symlink("/etc/passwd", (top_ + "/rootfs/etc/passwd").c_str()), 0);
    auto u = resolve_user(fd_.get(), "root");
    ASSERT_FALSE(u);  // a symlink to itself in the root: a loop, not the host's file
    ASSERT_EQ(unlink((top_ + "/rootfs/etc/passwd").c_str()), 0);
    ASSERT_EQ(symlink("../../../../../etc/passwd-missing", (top_ + "/rootfs/etc/passwd").c_str()),
              0);
    auto v = resolve_user(fd_.get(), "root");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().str().find("not found"), std::string::npos);
}

TEST_F(BundleConfig, PasswdMustBeRegular) {
    ASSERT_EQ(unlink((top_ + "/rootfs/etc/passwd").c_str()), 0);
    ASSERT_EQ(mkfifo((top_ + "/rootfs/etc/passwd").c_str(), 0644), 0);
    auto u = resolve_user(fd_.get(), "app");
    ASSERT_FALSE(u);
    EXPECT_NE(u.error().str().find("not a regular file"), std::string::npos);
}

TEST_F(BundleConfig, ConfigFromImage) {
    spec::ImageConfig img;
    img.os = "linux";
    img.architecture = "amd64";
    spec::ContainerConfig cc;
    cc.entrypoint = std::vector<std::string>{"/entry"};
    cc.cmd = std::vector<std::string>{"--flag"};
    cc.env = {"PATH=/custom", "A=1"};
    cc.user = "app";
    cc.working_dir = "/work";
    cc.volumes = {"/data", "/cache"};
    cc.labels = {{"org.example.x", "y"}};
    cc.stop_signal = "SIGQUIT";
    img.config = cc;
    BundleOptions o;
    o.volumes.push_back(parse_volume("/host:/data:ro").value());
    auto s = make_config(img, fd_.get(), o);
    ASSERT_TRUE(s) << s.error().str();
    const auto& p = *s->process;
    EXPECT_EQ(p.args, (std::vector<std::string>{"/entry", "--flag"}));
    EXPECT_EQ(p.env,
              (std::vector<std::string>{"PATH=/custom", "A=1", "TERM=xterm", "HOME=/home/app"}));
    EXPECT_EQ(p.cwd, "/work");
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(s->root->path, "rootfs");
    int binds = 0, tmpfs = 0;
    for (const auto& m : s->mounts) {
        if (m.destination == "/data") {
            ++binds;
            EXPECT_EQ(m.type, "bind");
        }
        if (m.destination == "/cache") {
            ++tmpfs;
            EXPECT_EQ(m.type, "tmpfs");
        }
    }
    EXPECT_EQ(binds, 1);
    EXPECT_EQ(tmpfs, 1);
    EXPECT_EQ(s->annotations["org.example.x"], "y");
    EXPECT_EQ(s->annotations["org.opencontainers.image.stopSignal"], "SIGQUIT");
    EXPECT_EQ(s->annotations["org.opencontainers.image.architecture"], "amd64");

    o.entrypoint = std::vector<std::string>{"/bin/sh"};
    EXPECT_EQ(make_config(img, fd_.get(), o)->process->args, (std::vector<std::string>{"/bin/sh"}));
    o.args = {"-c", "true"};
    EXPECT_EQ(make_config(img, fd_.get(), o)->process->args,
              (std::vector<std::string>{"/bin/sh", "-c", "true"}));
}

TEST_F(BundleConfig, BadVolumesAndWorkdir) {
    EXPECT_FALSE(parse_volume("relative:/x"));
    EXPECT_FALSE(parse_volume("/h:/x/../y"));
    EXPECT_FALSE(parse_volume("/h:/x:rx"));
    EXPECT_TRUE(parse_volume("/h:/x:rw"));
    spec::ImageConfig img;
    spec::ContainerConfig cc;
    cc.working_dir = "relative";
    img.config = cc;
    auto s = make_config(img, fd_.get(), {});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().str().find("WorkingDir 'relative' is not absolute"), std::string::npos);
}

}  // namespace
