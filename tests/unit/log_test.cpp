// base/log and base/unique_fd: runc-shaped log lines (text and JSON), --log files opened
// for appending, debug gating, and fd ownership.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"

using namespace berth;

namespace {

// Captures what log::write puts on an fd, restoring stderr afterwards.
class Log : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-log-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(pipe2(fds_, O_CLOEXEC | O_NONBLOCK), 0);
        log::set_fd(fds_[1]);
    }
    void TearDown() override {
        log::init("", log::Format::text, false);
        log::set_fd(2);
        close(fds_[0]);
        close(fds_[1]);
        EXPECT_TRUE(remove_all(dir_).ok());
    }
    std::string drain() {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = read(fds_[0], buf, sizeof buf)) > 0)
            out.append(buf, size_t(n));
        return out;
    }
    int fds_[2];
    std::string dir_;
};

const std::regex kRfc3339Nano(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");

}  // namespace

TEST_F(Log, JsonLineIsRuncShape) {
    log::init("", log::Format::json, false);
    log::set_fd(fds_[1]);
    log::error("mount '/proc' in container \"web\":\tbad\nnext\x01");
    std::string line = drain();
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the message holds
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "mount '/proc' in container \"web\":\tbad\nnext\x01");
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), kRfc3339Nano)) << j["time"];
    // containerd reads the keys in this order from runc; keep it.
    EXPECT_EQ(line.rfind("{\"level\":\"error\",\"msg\":", 0), 0u) << line;
}

TEST_F(Log, TextLine) {
    log::init("", log::Format::text, false);
    log::set_fd(fds_[1]);
    log::warn("careful \"here\"");
    std::string line = drain();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(
        line, m, std::regex(R"re(time="([^"]+)" level=warning msg="careful \\"here\\""\n)re")))
        << line;
    EXPECT_TRUE(std::regex_match(m[1].str(), kRfc3339Nano));
}

TEST_F(Log, DebugOnlyWhenEnabled) {
    log::init("", log::Format::text, false);
    log::set_fd(fds_[1]);
    log::debug("hidden");
    EXPECT_EQ(drain(), "");
    EXPECT_FALSE(log::debug_enabled());
    log::init("", log::Format::text, true);
    log::set_fd(fds_[1]);
    log::debug("shown");
    EXPECT_NE(drain().find("level=debug msg=\"shown\""), std::string::npos);
}

TEST_F(Log, FileIsAppended) {
    std::string path = dir_ + "/log.json";
    ASSERT_TRUE(write_file_atomic(path, "{\"level\":\"info\",\"msg\":\"earlier\"}\n").ok());
    ASSERT_TRUE(log::init(path, log::Format::json, false));
    EXPECT_TRUE(log::has_file());
    EXPECT_EQ(log::format(), log::Format::json);
    log::info("one");
    log::error("two");
    auto text = read_file(path);
    ASSERT_TRUE(text.ok());
    std::istringstream in(text.value());
    std::string l;
    std::vector<std::string> msgs;
    while (std::getline(in, l))
        msgs.push_back(nlohmann::json::parse(l)["msg"]);
    EXPECT_EQ(msgs, (std::vector<std::string>{"earlier", "one", "two"}));
}

TEST_F(Log, InitFailsOnUnopenablePath) {
    EXPECT_FALSE(log::init(dir_ + "/missing/dir/log", log::Format::text, false));
    EXPECT_EQ(errno, ENOENT);
}

TEST(LogEscape, ControlAndQuotes) {
    EXPECT_EQ(log::json_escape("a\"b\\c\n\r\t\x1f"), "a\\\"b\\\\c\\n\\r\\t\\u001f");
    EXPECT_EQ(log::json_escape("plain ünïcode"), "plain ünïcode");
}

// Invalid UTF-8 (a Latin-1 path, a cut sequence, an overlong '/', a surrogate, a byte past
// U+10FFFF) becomes U+FFFD per bad byte, as Go's encoding/json writes it, so every line stays
// valid JSON for containerd; well-formed 2-, 3- and 4-byte sequences pass through.
TEST(LogEscape, InvalidUtf8BecomesReplacementCharacter) {
    EXPECT_EQ(log::json_escape("caf\xe9!"), "caf\\ufffd!");
    EXPECT_EQ(log::json_escape("x\xe2\x82"), "x\\ufffd\\ufffd");
    EXPECT_EQ(log::json_escape("\xc0\xaf"), "\\ufffd\\ufffd");
    EXPECT_EQ(log::json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
    EXPECT_EQ(log::json_escape("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
    EXPECT_EQ(log::json_escape("\xff"), "\\ufffd");
    EXPECT_EQ(log::json_escape("\xe2\x82\xac \xf0\x9f\x90\xb3"), "\xe2\x82\xac \xf0\x9f\x90\xb3");
}

TEST(UniqueFd, OwnershipAndRelease) {
    int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(raw, 0);
    {
        UniqueFd a(raw);
        EXPECT_TRUE(a.valid());
        UniqueFd b(std::move(a));
        EXPECT_FALSE(a.valid());
        EXPECT_EQ(b.get(), raw);
        UniqueFd c;
        c = std::move(b);
        EXPECT_EQ(c.get(), raw);
        EXPECT_GE(fcntl(raw, F_GETFD), 0);
    }
    EXPECT_EQ(fcntl(raw, F_GETFD), -1);  // closed when the owner went away
    EXPECT_EQ(errno, EBADF);

    int raw2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(raw2, 0);
    int kept;
    {
        UniqueFd d(raw2);
        kept = d.release();
        EXPECT_FALSE(d);
    }
    EXPECT_GE(fcntl(kept, F_GETFD), 0);  // released: still open
    UniqueFd e(kept);
    int raw3 = open("/dev/null", O_RDONLY | O_CLOEXEC);
    e.reset(raw3);
    EXPECT_EQ(fcntl(kept, F_GETFD), -1);  // reset closed the old one
    EXPECT_EQ(e.get(), raw3);
}
