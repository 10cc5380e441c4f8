// uid/gid/groups/umask and the lookups that need the container's files.
#include "runtime/linux/user.hpp"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "base/file.hpp"

namespace berth::runtime::linux_ {

Status apply_user(const spec::User& u, bool keep_caps) {
    if (keep_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sys_error("PR_SET_KEEPCAPS");
    std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0) {
        // In a user namespace with setgroups "deny", an empty list is the only one possible.
        if (!(errno == EPERM && groups.empty())) return sys_error("setgroups");
    }
    if (::setresgid(u.gid, u.gid, u.gid) < 0) return sys_error("setgid " + std::to_string(u.gid));
    if (::setresuid(u.uid, u.uid, u.uid) < 0) return sys_error("setuid " + std::to_string(u.uid));
    if (keep_caps && ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return sys_error("PR_SET_KEEPCAPS");
    ::umask(u.umask.value_or(022));
    return ok();
}

std::optional<std::vector<std::string>> passwd_entry(uint32_t uid, const std::string& path) {
    auto text = read_file(path, 4 << 20);
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    std::string line;
    const std::string want = std::to_string(uid);
    while (std::getline(in, line)) {
        // name:pw:uid:gid:gecos:home:shell
        std::vector<std::string> f;
        std::stringstream ls(line);
        std::string x;
        while (std::getline(ls, x, ':'))
            f.push_back(x);
        if (f.size() >= 6 && f[2] == want) return f;
    }
    return std::nullopt;
}

void add_home(std::vector<std::string>& env, uint32_t uid) {
    for (const auto& e : env)
        if (e.rfind("HOME=", 0) == 0) return;
    std::string home = "/";
    if (auto f = passwd_entry(uid); f && !(*f)[5].empty()) home = (*f)[5];
    env.push_back("HOME=" + home);
}

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
    if (name.empty()) return error("exec: process.args is empty");
    auto executable = [](const std::string& p) {
        struct stat sb;
        return ::stat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0111);
    };
    if (name.find('/') != std::string::npos) {
        struct stat sb;
        if (::stat(name.c_str(), &sb) < 0) return sys_error("exec: \"" + name + "\": stat " + name);
        if (!executable(name)) return Error(EACCES, "exec: \"" + name + "\": permission denied");
        return name;
    }
    std::string path;
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    std::stringstream ps(path);
    std::string dir;
    while (std::getline(ps, dir, ':')) {
        if (dir.empty()) dir = ".";
        std::string cand = dir + "/" + name;
        if (executable(cand)) return cand;
    }
    return Error(ENOENT, "exec: \"" + name + "\": executable file not found in $PATH");
}

}  // namespace berth::runtime::linux_
