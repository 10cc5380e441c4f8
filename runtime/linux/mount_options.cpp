// The runtime-spec mount option table. Flag options follow mount(8): "ro" sets MS_RDONLY,
// "rw" clears it; the later of two conflicting options wins. Unknown options are filesystem
// data, except on a bind mount, which has none: there an unknown option is a typo.
#include "runtime/linux/mount_options.hpp"

#include <sys/mount.h>

#include <array>

namespace berth::runtime::linux_ {
namespace {

struct FlagOption {
    const char* name;
    bool clear;
    unsigned long flag;
};

constexpr std::array kFlagOptions = {
    FlagOption{"defaults", false, 0},
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"remount", false, MS_REMOUNT},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
    FlagOption{"nosymfollow", false, MS_NOSYMFOLLOW},
    FlagOption{"symfollow", true, MS_NOSYMFOLLOW},
    FlagOption{"lazytime", false, MS_LAZYTIME},
    FlagOption{"nolazytime", true, MS_LAZYTIME},
    FlagOption{"iversion", false, MS_I_VERSION},
    FlagOption{"noiversion", true, MS_I_VERSION},
    FlagOption{"silent", false, MS_SILENT},
    FlagOption{"loud", true, MS_SILENT},
    FlagOption{"bind", false, MS_BIND},
    FlagOption{"rbind", false, MS_BIND | MS_REC},
};

struct PropagationOption {
    const char* name;
    unsigned long flags;
};

constexpr std::array kPropagationOptions = {
    PropagationOption{"private", MS_PRIVATE},
    PropagationOption{"rprivate", MS_PRIVATE | MS_REC},
    PropagationOption{"shared", MS_SHARED},
    PropagationOption{"rshared", MS_SHARED | MS_REC},
    PropagationOption{"slave", MS_SLAVE},
    PropagationOption{"rslave", MS_SLAVE | MS_REC},
    PropagationOption{"unbindable", MS_UNBINDABLE},
    PropagationOption{"runbindable", MS_UNBINDABLE | MS_REC},
};

struct RecursiveOption {
    const char* name;
    bool clear;
    uint64_t attr;
};

// MOUNT_ATTR_RELATIME is 0: the atime modes are a 3-bit field (MOUNT_ATTR__ATIME) that the
// kernel only changes when all of it is in attr_clr, so they are handled apart.
constexpr std::array kRecursiveOptions = {
    RecursiveOption{"rro", false, MOUNT_ATTR_RDONLY},
    RecursiveOption{"rrw", true, MOUNT_ATTR_RDONLY},
    RecursiveOption{"rnosuid", false, MOUNT_ATTR_NOSUID},
    RecursiveOption{"rsuid", true, MOUNT_ATTR_NOSUID},
    RecursiveOption{"rnodev", false, MOUNT_ATTR_NODEV},
    RecursiveOption{"rdev", true, MOUNT_ATTR_NODEV},
    RecursiveOption{"rnoexec", false, MOUNT_ATTR_NOEXEC},
    RecursiveOption{"rexec", true, MOUNT_ATTR_NOEXEC},
    RecursiveOption{"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    RecursiveOption{"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    RecursiveOption{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    RecursiveOption{"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

struct RecursiveAtime {
    const char* name;
    uint64_t mode;
};

// "ratime", "rnorelatime" and "rnostrictatime" turn the named mode off; what remains is the
// kernel's default for new mounts, relatime (rnorelatime: strictatime, as "norelatime" asks
// for full atime updates).
constexpr std::array kRecursiveAtime = {
    RecursiveAtime{"rrelatime", MOUNT_ATTR_RELATIME},
    RecursiveAtime{"rnorelatime", MOUNT_ATTR_STRICTATIME},
    RecursiveAtime{"rnoatime", MOUNT_ATTR_NOATIME},
    RecursiveAtime{"ratime", MOUNT_ATTR_RELATIME},
    RecursiveAtime{"rstrictatime", MOUNT_ATTR_STRICTATIME},
    RecursiveAtime{"rnostrictatime", MOUNT_ATTR_RELATIME},
};

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

}  // namespace

bool MountOptions::bind() const {
    return (flags & MS_BIND) != 0;
}
bool MountOptions::recursive_bind() const {
    return (flags & (MS_BIND | MS_REC)) == (MS_BIND | MS_REC);
}
bool MountOptions::remount() const {
    return (flags & MS_REMOUNT) != 0;
}

AttrChange MountOptions::mount_attrs() const {
    AttrChange c;
    auto apply = [&](unsigned long ms, uint64_t attr) {
        if (flags & ms)
            c.set |= attr;
        else if (cleared & ms)
            c.clr |= attr;
    };
    apply(MS_RDONLY, MOUNT_ATTR_RDONLY);
    apply(MS_NOSUID, MOUNT_ATTR_NOSUID);
    apply(MS_NODEV, MOUNT_ATTR_NODEV);
    apply(MS_NOEXEC, MOUNT_ATTR_NOEXEC);
    apply(MS_NODIRATIME, MOUNT_ATTR_NODIRATIME);
    apply(MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW);
    if ((flags | cleared) & kAtimeFlags) {
        c.clr |= MOUNT_ATTR__ATIME;
        if (flags & MS_NOATIME)
            c.set |= MOUNT_ATTR_NOATIME;
        else if (flags & MS_STRICTATIME)
            c.set |= MOUNT_ATTR_STRICTATIME;
    }
    return c;
}

unsigned MountOptions::fsmount_attrs() const {
    return unsigned(mount_attrs().set);
}

std::string MountOptions::data_string() const {
    std::string out;
    for (const auto& d : data) {
        if (!out.empty()) out += ',';
        out += d;
    }
    return out;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options, bool is_bind_type,
                                         std::string_view field) {
    MountOptions mo;
    std::vector<size_t> unknown;
    bool recursive_atime = false;
    for (size_t i = 0; i < options.size(); ++i) {
        const std::string& opt = options[i];
        auto where = [&] { return std::string(field) + ".options[" + std::to_string(i) + "]"; };
        if (opt.empty()) return error(where() + ": empty mount option");
        // One entry is one option: a comma would smuggle more into the data string.
        if (opt.find(',') != std::string::npos)
            return error(where() + ": mount option '" + opt + "' contains ','");
        bool done = false;
        for (const auto& f : kFlagOptions) {
            if (opt != f.name) continue;
            if (f.clear) {
                mo.flags &= ~f.flag;
                mo.cleared |= f.flag;
            } else {
                mo.flags |= f.flag;
                mo.cleared &= ~f.flag;
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& p : kPropagationOptions) {
            if (opt != p.name) continue;
            mo.propagation.push_back(p.flags);
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& r : kRecursiveOptions) {
            if (opt != r.name) continue;
            if (r.clear) {
                mo.recursive.clr |= r.attr;
                mo.recursive.set &= ~r.attr;
            } else {
                mo.recursive.set |= r.attr;
                mo.recursive.clr &= ~r.attr;
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& a : kRecursiveAtime) {
            if (opt != a.name) continue;
            mo.recursive.set = (mo.recursive.set & ~uint64_t(MOUNT_ATTR__ATIME)) | a.mode;
            recursive_atime = true;
            done = true;
            break;
        }
        if (done) continue;
        if (opt == "idmap" || opt == "ridmap") {
            mo.idmap = true;
            mo.idmap_recursive = opt == "ridmap";
            continue;
        }
        if (opt == "tmpcopyup") {
            mo.tmpcopyup = true;
            continue;
        }
        // mount(8)'s userspace-only options ("x-systemd.automount", "X-containerd.x") are for
        // helpers, never for the kernel.
        if (opt.starts_with("x-") || opt.starts_with("X-")) continue;
        unknown.push_back(i);
        mo.data.push_back(opt);
    }
    if (recursive_atime) mo.recursive.clr |= MOUNT_ATTR__ATIME;

    const bool bind = is_bind_type || mo.bind();
    if (bind) {
        // A bind mount passes no data to a filesystem: "key=value" is dropped as runc does
        // (engines send mode= and size= to binds), a bare unknown word is a typo.
        std::vector<std::string> kept;
        for (size_t k = 0; k < unknown.size(); ++k) {
            const std::string& opt = options[unknown[k]];
            if (opt.find('=') == std::string::npos)
                return error(std::string(field) + ".options[" + std::to_string(unknown[k]) +
                             "]: unknown option '" + opt + "' for a bind mount");
        }
        mo.data.clear();
        if (!mo.bind()) mo.flags |= MS_BIND;
    } else {
        if (mo.idmap)
            return error(std::string(field) +
                         ".options: idmap and ridmap apply only to bind mounts");
    }
    if (mo.tmpcopyup && bind)
        return error(std::string(field) + ".options: tmpcopyup applies only to tmpfs mounts");
    return mo;
}

Result<unsigned long> parse_propagation(std::string_view value) {
    for (const auto& p : kPropagationOptions)
        if (value == p.name) return p.flags;
    return error("linux.rootfsPropagation: unknown propagation '" + std::string(value) + "'");
}

}  // namespace berth::runtime::linux_
