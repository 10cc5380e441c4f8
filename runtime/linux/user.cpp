// uid/gid/groups/umask and the lookups that need the container's files.
#include "runtime/linux/user.hpp"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "base/file.hpp"
#include "base/passwd.hpp"

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

std::optional<PasswdEntry> passwd_entry(uint32_t uid, const std::string& path) {
    auto text = read_file(path, 4 << 20);
    if (!text) return std::nullopt;
    for (auto& e : parse_passwd(*text))
        if (e.uid == uid) return e;
    return std::nullopt;
}

void add_home(std::vector<std::string>& env, uint32_t uid) {
    for (const auto& e : env)
        if (e.starts_with("HOME=")) return;
    std::string home = "/";
    if (auto e = passwd_entry(uid); e && !e->home.empty()) home = e->home;
    env.push_back("HOME=" + home);
}

std::string go_errno_text(int err) {
    // Go's syscall.Errno strings are glibc's with a lower-case first letter for every errno
    // an exec can meet ("no such file or directory", "permission denied", "not a directory").
    std::string s = std::strerror(err);
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
    return s;
}

// The errors below are code 0 with the whole text: Error::str() would otherwise append
// strerror's capitalised words, and engines match Go's lower-case ones (Docker maps "no such
// file or directory" and "executable file not found" to 127, "permission denied" to 126).
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
    if (name.empty()) return error("exec: process.args is empty");
    // As Go's exec.LookPath (runc's): a regular file or anything but a directory with an
    // execute bit; whether this user may run it is execve's to say.
    auto check = [](const std::string& p) -> int {
        struct stat sb;
        if (::stat(p.c_str(), &sb) < 0) return errno;
        if (!S_ISDIR(sb.st_mode) && (sb.st_mode & 0111)) return 0;
        return EACCES;
    };
    if (name.find('/') != std::string::npos) {
        struct stat sb;
        if (::stat(name.c_str(), &sb) < 0)
            return error("exec: \"" + name + "\": stat " + name + ": " + go_errno_text(errno));
        if (check(name) != 0) return error("exec: \"" + name + "\": permission denied");
        return name;
    }
    std::string path;
    for (const auto& e : env)
        if (e.starts_with("PATH=")) path = e.substr(5);
    std::stringstream ps(path);
    std::string dir;
    while (std::getline(ps, dir, ':')) {
        if (dir.empty()) dir = ".";
        std::string cand = dir + "/" + name;
        if (check(cand) == 0) return cand;
    }
    return error("exec: \"" + name + "\": executable file not found in $PATH");
}

std::string exec_failure(const std::string& exe, int err) {
    return "exec " + exe + ": " + go_errno_text(err);
}

}  // namespace berth::runtime::linux_
