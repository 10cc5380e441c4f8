// The Dockerfile parser: directives, comments, continuations, forms, flags, errors with
// FILE:LINE, and variable substitution as the Dockerfile reference describes it.
#include <gtest/gtest.h>

#include "imagetool/build/dockerfile.hpp"

using namespace berth;
using namespace berth::image::build;

namespace {

Dockerfile parse_ok(std::string_view text) {
    auto r = parse_dockerfile(text, "Dockerfile");
    EXPECT_TRUE(r.ok()) << r.error().str();
    return r.ok() ? *r : Dockerfile{};
}

std::string parse_err(std::string_view text) {
    auto r = parse_dockerfile(text, "Dockerfile");
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error().str();
}

TEST(Dockerfile, ContinuationsCommentsAndLines) {
    auto df = parse_ok(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=busybox\n"
        "\n"
        "from $BASE AS build   \n"
        "# a comment\n"
        "RUN echo a \\\n"
        "  # a comment inside the continuation\n"
        "\n"
        "    && echo b \\  \n"
        "    && echo c\n"
        "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]\n"
        "ENTRYPOINT /bin/app --flag\r\n");
    EXPECT_EQ(df.syntax, "docker/dockerfile:1");
    ASSERT_EQ(df.instructions.size(), 5u);
    EXPECT_EQ(df.instructions[1].keyword, "FROM");
    EXPECT_EQ(df.instructions[1].text(), "$BASE AS build");
    EXPECT_EQ(df.instructions[2].keyword, "RUN");
    EXPECT_EQ(df.instructions[2].line, 6);
    EXPECT_FALSE(df.instructions[2].json);
    EXPECT_EQ(df.instructions[2].text(), "echo a     && echo b     && echo c");
    EXPECT_TRUE(df.instructions[3].json);
    EXPECT_EQ(df.instructions[3].args, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
    EXPECT_EQ(df.instructions[3].line, 11);
    EXPECT_EQ(df.instructions[4].text(), "/bin/app --flag");
    EXPECT_EQ(df.where(df.instructions[4]), "Dockerfile:12");
}

TEST(Dockerfile, EscapeDirectiveChangesTheContinuationCharacter) {
    auto df = parse_ok(
        "# escape=`\n"
        "FROM scratch\n"
        "COPY a `\n"
        "  C:\\dir\\\n"
        "WORKDIR C:\\app\n");
    EXPECT_EQ(df.escape, '`');
    ASSERT_EQ(df.instructions.size(), 3u);
    EXPECT_EQ(df.instructions[1].text(), "a   C:\\dir\\");
    EXPECT_EQ(df.instructions[2].text(), "C:\\app");
    // After the first instruction a directive is a comment.
    auto late = parse_ok("FROM scratch\n# escape=`\nRUN a \\\n b\n");
    EXPECT_EQ(late.escape, '\\');
    EXPECT_EQ(late.instructions[1].text(), "a  b");
    EXPECT_NE(parse_err("# escape=x\nFROM scratch\n").find("Dockerfile:1: escape"),
              std::string::npos);
    EXPECT_NE(parse_err("# escape=`\n# escape=\\\nFROM scratch\n").find("given twice"),
              std::string::npos);
}

TEST(Dockerfile, FlagsAndForms) {
    auto df = parse_ok(
        "FROM --platform=linux/amd64 busybox AS a\n"
        "COPY --from=a --chown=1:2 [\"src dir\", \"/dst/\"]\n"
        "SHELL [\"/bin/bash\", \"-c\"]\n"
        "HEALTHCHECK --interval=5s CMD [\"curl\", \"-f\", \"localhost\"]\n"
        "HEALTHCHECK NONE\n"
        "VOLUME /data /logs\n"
        "ONBUILD RUN make\n");
    EXPECT_EQ(df.instructions[0].flags, (std::vector<std::string>{"platform=linux/amd64"}));
    EXPECT_EQ(df.instructions[1].flags, (std::vector<std::string>{"from=a", "chown=1:2"}));
    EXPECT_TRUE(df.instructions[1].json);
    EXPECT_EQ(df.instructions[1].args, (std::vector<std::string>{"src dir", "/dst/"}));
    EXPECT_TRUE(df.instructions[2].json);
    EXPECT_EQ(df.instructions[3].args,
              (std::vector<std::string>{"CMD", "curl", "-f", "localhost"}));
    EXPECT_TRUE(df.instructions[3].json);
    EXPECT_EQ(df.instructions[4].args, (std::vector<std::string>{"NONE"}));
    EXPECT_EQ(df.instructions[6].text(), "RUN make");
}

TEST(Dockerfile, ErrorsNameFileAndLine) {
    EXPECT_NE(parse_err("FROM a\n\nFROBNICATE x\n")
                  .find("Dockerfile:3: unknown instruction 'FROBNICATE'"),
              std::string::npos);
    EXPECT_NE(parse_err("RUN true\nFROM a\n").find("Dockerfile:1: RUN before the first FROM"),
              std::string::npos);
    EXPECT_NE(parse_err("ARG X=1\n").find("no FROM"), std::string::npos);
    EXPECT_NE(parse_err("# only a comment\n\n").find("no instructions"), std::string::npos);
    EXPECT_NE(parse_err("FROM a\nCMD [\"a\", 1]\n").find("Dockerfile:2: CMD: not a JSON array"),
              std::string::npos);
    EXPECT_NE(parse_err("FROM a\nSHELL /bin/sh -c\n").find("Dockerfile:2: SHELL needs a JSON"),
              std::string::npos);
    EXPECT_NE(
        parse_err("FROM a\nCOPY --frm=b x y\n").find("Dockerfile:2: COPY: unknown flag --frm"),
        std::string::npos);
    EXPECT_NE(parse_err("FROM a\nWORKDIR\n").find("Dockerfile:2: WORKDIR needs an argument"),
              std::string::npos);
    EXPECT_NE(parse_err("FROM a\nRUN <<EOF\necho\nEOF\n").find("heredocs"), std::string::npos);
    EXPECT_NE(parse_err("FROM a\nONBUILD FROM b\n").find("ONBUILD FROM is not allowed"),
              std::string::npos);
    EXPECT_NE(parse_err("FROM a\nHEALTHCHECK echo\n").find("expected CMD or NONE"),
              std::string::npos);
    // A bracket that is not JSON and does not look like an array is shell text, as Docker has it.
    auto df = parse_ok("FROM a\nRUN [ -f /x ] && echo y\nRUN [ -d /y ]\n");
    EXPECT_FALSE(df.instructions[1].json);
    EXPECT_FALSE(df.instructions[2].json);
    EXPECT_EQ(df.instructions[2].text(), "[ -d /y ]");
    EXPECT_NE(parse_err("FROM a\nENTRYPOINT [\"a\" \"b\"]\n")
                  .find("Dockerfile:2: ENTRYPOINT: not a JSON"),
              std::string::npos);
}

TEST(Substitution, ModifiersQuotesAndEscapes) {
    std::map<std::string, std::string> v = {{"A", "1"}, {"EMPTY", ""}, {"P", "/usr/bin"}};
    auto vars = lookup_in(v);
    auto ex = [&](std::string_view s) {
        auto r = expand_word(s, vars);
        EXPECT_TRUE(r.ok()) << s << ": " << r.error().str();
        return r.ok() ? *r : std::string("<error>");
    };
    EXPECT_EQ(ex("$A"), "1");
    EXPECT_EQ(ex("${A}x"), "1x");
    EXPECT_EQ(ex("$Ax"), "");
    EXPECT_EQ(ex("${UNSET:-dflt}"), "dflt");
    EXPECT_EQ(ex("${EMPTY:-dflt}"), "dflt");
    EXPECT_EQ(ex("${EMPTY-dflt}"), "");
    EXPECT_EQ(ex("${A:-dflt}"), "1");
    EXPECT_EQ(ex("${A:+set}"), "set");
    EXPECT_EQ(ex("${EMPTY:+set}"), "");
    EXPECT_EQ(ex("${EMPTY+set}"), "set");
    EXPECT_EQ(ex("${UNSET:+set}"), "");
    EXPECT_EQ(ex("${UNSET:-$P/x}"), "/usr/bin/x");
    EXPECT_EQ(ex("${UNSET:-${A:+nested}}"), "nested");
    EXPECT_EQ(ex("'$A'"), "$A");
    EXPECT_EQ(ex("\"$A b\""), "1 b");
    EXPECT_EQ(ex("\\$A"), "$A");
    EXPECT_EQ(ex("\"\\$A \\\" \\x\""), "$A \" \\x");
    EXPECT_EQ(ex("a$"), "a$");
    EXPECT_EQ(ex("cost: $5"), "cost: $5");
    auto q = expand_word("${UNSET:?must be set}", vars);
    ASSERT_FALSE(q.ok());
    EXPECT_NE(q.error().str().find("UNSET: must be set"), std::string::npos);
    EXPECT_FALSE(expand_word("${A", vars).ok());
    EXPECT_FALSE(expand_word("\"open", vars).ok());
    EXPECT_FALSE(expand_word("${A/x/y}", vars).ok());
    // Backtick escape.
    auto bt = expand_word("`$A", vars, '`');
    ASSERT_TRUE(bt.ok());
    EXPECT_EQ(*bt, "$A");
    auto words = expand_words("  $P   \"two words\" '' x$A ", vars);
    ASSERT_TRUE(words.ok());
    EXPECT_EQ(*words, (std::vector<std::string>{"/usr/bin", "two words", "", "x1"}));
}

TEST(Substitution, KeyValueForms) {
    std::map<std::string, std::string> v = {{"A", "1"}};
    auto vars = lookup_in(v);
    auto df = parse_ok(
        "ARG V1 V2=${A:-x}\n"
        "FROM a\n"
        "ENV K1=$A K2=\"two words\" K3=a\\ b\n"
        "ENV LEGACY value with  spaces $A\n"
        "LABEL \"com.example.x\"=\"y z\" plain=1\n");
    auto arg = key_values(df.instructions[0], vars);
    ASSERT_TRUE(arg.ok()) << arg.error().str();
    ASSERT_EQ(arg->size(), 2u);
    EXPECT_FALSE((*arg)[0].second.has_value());
    EXPECT_EQ(*(*arg)[1].second, "1");
    auto env = key_values(df.instructions[2], vars);
    ASSERT_TRUE(env.ok()) << env.error().str();
    ASSERT_EQ(env->size(), 3u);
    EXPECT_EQ(*(*env)[0].second, "1");
    EXPECT_EQ(*(*env)[1].second, "two words");
    EXPECT_EQ(*(*env)[2].second, "a b");
    auto legacy = key_values(df.instructions[3], vars);
    ASSERT_TRUE(legacy.ok());
    ASSERT_EQ(legacy->size(), 1u);
    EXPECT_EQ((*legacy)[0].first, "LEGACY");
    EXPECT_EQ(*(*legacy)[0].second, "value with  spaces 1");
    auto label = key_values(df.instructions[4], vars);
    ASSERT_TRUE(label.ok()) << label.error().str();
    EXPECT_EQ((*label)[0].first, "com.example.x");
    EXPECT_EQ(*(*label)[0].second, "y z");
    auto bad = parse_ok("FROM a\nENV A=1 B\n");
    EXPECT_FALSE(key_values(bad.instructions[1], vars).ok());
}

}  // namespace
