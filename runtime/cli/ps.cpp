// berth ps: the container's processes, as `ps` lines (table) or a JSON array of pids.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/file.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "runtime/lifecycle.hpp"

namespace berth::cli {

namespace {
Result<std::string> run_ps(const std::vector<std::string>& args) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    std::vector<char*> argv{const_cast<char*>("ps")};
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return sys_error("fork");
    if (pid == 0) {
        ::dup2(wr.get(), 1);
        ::execvp("ps", argv.data());
        ::_exit(127);
    }
    wr.reset();
    auto out = read_fd(rd.get());
    int status;
    ::waitpid(pid, &status, 0);
    if (!out) return std::move(out).error();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return error("ps failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
    return out;
}
}  // namespace

int cmd_ps(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("format,f", "value", "select one of: table or json", "table");
    int status;
    if (!parse_or_help(a, argv, "ps [command options] <container-id> [ps options]", &status, true))
        return status;
    const auto& pos = a.positionals();
    if (pos.empty()) return fail(error("\"ps\" requires a minimum of 1 argument(s)"));
    auto pids = runtime::container_pids(g.root, pos[0]);
    if (!pids) return fail(pids.error());
    std::string fmt = a.get("format");
    if (fmt == "json") {
        if (pids->empty()) {  // Go's encoding of a nil slice, as runc prints it
            std::printf("null\n");
            return 0;
        }
        std::string out = "[";
        for (size_t i = 0; i < pids->size(); ++i)
            out += (i ? "," : "") + std::to_string((*pids)[i]);
        std::printf("%s]\n", out.c_str());
        return 0;
    }
    if (fmt != "table") return fail(error("invalid format option"));
    std::vector<std::string> ps_args(pos.begin() + 1, pos.end());
    if (!ps_args.empty() && ps_args[0] == "--") ps_args.erase(ps_args.begin());
    if (ps_args.empty()) ps_args = {"-ef"};
    auto out = run_ps(ps_args);
    if (!out) return fail(out.error());
    std::istringstream in(*out);
    std::string header;
    std::getline(in, header);
    std::istringstream hs(header);
    std::string col;
    int pid_col = -1;
    for (int i = 0; hs >> col; ++i)
        if (col == "PID") pid_col = i;
    if (pid_col < 0) return fail(error("couldn't find PID field in ps output"));
    std::printf("%s\n", header.c_str());
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string f;
        for (int i = 0; i <= pid_col && (ls >> f); ++i) {
        }
        pid_t p = pid_t(std::atoi(f.c_str()));
        if (std::find(pids->begin(), pids->end(), p) != pids->end())
            std::printf("%s\n", line.c_str());
    }
    return 0;
}

}  // namespace berth::cli
