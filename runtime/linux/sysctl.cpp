// linux.sysctl. The writes go to <root>/proc/sys/<key> opened inside the root with every
// component checked, and both the /proc directory and the opened file must be on procfs.
#include "runtime/linux/sysctl.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <array>

#include "base/file.hpp"
#include "base/in_root.hpp"
#include "base/unique_fd.hpp"

namespace berth::runtime::linux_ {
namespace {

constexpr std::array kIpcKeys = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

bool has_namespace(const spec::Spec& spec, const std::string& type) {
    if (!spec.linux_) return false;
    for (const auto& ns : spec.linux_->namespaces)
        if (ns.type == type) return true;
    return false;
}

Status is_procfs(int fd, const std::string& what) {
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0) return sys_error("statfs " + what);
    if (sfs.f_type != PROC_SUPER_MAGIC) return error(what + " is not on procfs");
    return ok();
}

}  // namespace

Result<std::string> sysctl_path(const std::string& key) {
    std::string out;
    std::string part;
    auto flush = [&]() -> Status {
        if (part.empty() || part == "." || part == "..")
            return error("bad sysctl key '" + key + "'");
        if (!out.empty()) out += '/';
        out += part;
        part.clear();
        return ok();
    };
    for (char c : key) {
        if (c == '.')
            TRY(flush());
        else if (c == '/')
            part += '.';
        else
            part += c;
    }
    TRY(flush());
    return out;
}

Status validate_sysctl(const spec::Spec& spec) {
    if (!spec.linux_) return ok();
    for (const auto& [key, value] : spec.linux_->sysctl) {
        std::string field = "linux.sysctl." + key;
        auto path = sysctl_path(key);
        if (!path) return std::move(path).error().with_context(field);
        bool ipc = key.starts_with("fs.mqueue.");
        for (const char* k : kIpcKeys)
            ipc = ipc || key == k;
        if (ipc) {
            if (!has_namespace(spec, "ipc"))
                return error(field + ": needs an ipc namespace (it would change the host's)");
            continue;
        }
        if (key.starts_with("net.")) {
            if (!has_namespace(spec, "network"))
                return error(field + ": needs a network namespace (it would change the host's)");
            continue;
        }
        if (key == "kernel.hostname" || key == "kernel.domainname") {
            if (!has_namespace(spec, "uts"))
                return error(field + ": needs a uts namespace (it would change the host's)");
            continue;
        }
        return error(field + ": not isolated by any namespace of the container");
    }
    return ok();
}

Status apply_sysctl(const std::map<std::string, std::string>& sysctl, int root_fd) {
    if (sysctl.empty()) return ok();
    auto proc = TRY_CTX(
        open_in_root(root_fd, "/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, kInRootNoFollowLast),
        "sysctl: /proc");
    TRY_CTX(is_procfs(proc.get(), "/proc"), "sysctl");
    for (const auto& [key, value] : sysctl) {
        std::string what = "sysctl '" + key + "'";
        std::string rel = "sys/" + TRY_CTX(sysctl_path(key), what);
        // Resolved with /proc as the root: nothing can lead outside procfs, and a mount over a
        // file in there (a bind of some other file) is caught by the second statfs.
        auto f = TRY_CTX(
            open_in_root(proc.get(), rel, O_WRONLY | O_NOFOLLOW, 0, kInRootNoFollowLast), what);
        TRY_CTX(is_procfs(f.get(), "/proc/" + rel), what);
        TRY_CTX(write_all(f.get(), value), what);
    }
    return ok();
}

}  // namespace berth::runtime::linux_
