// berth features: the runtime-spec features document (what this build and kernel support).
#include <sys/capability.h>

#include <cctype>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "base/args.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/rootless.hpp"
#include "spec/features.hpp"
#include "spec/runtime_config.hpp"

namespace berth::cli {
namespace {

// Candidate mount options: runtime-spec features.md's list plus idmap/ridmap. Only those the
// mounts parser (runtime/linux/mount_options) really recognises are printed, so the document
// cannot claim an option the parser would treat as filesystem data or reject.
constexpr const char* kMountOptionCandidates[] = {
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
};

std::vector<std::string> mount_options() {
    using runtime::linux_::parse_mount_options;
    std::vector<std::string> out;
    for (const char* o : kMountOptionCandidates) {
        bool known = static_cast<bool>(parse_mount_options({o}, true, "mountOptions"));
        if (!known) {
            auto m = parse_mount_options({o}, false, "mountOptions");
            known = m && m->data.empty();
        }
        if (known) out.emplace_back(o);
    }
    return out;
}

constexpr const char* kHooks[] = {"prestart",       "createRuntime", "createContainer",
                                  "startContainer", "poststart",     "poststop"};

constexpr const char* kNamespaces[] = {"cgroup", "ipc",  "mount", "network",
                                       "pid",    "time", "user",  "uts"};

// The capabilities both libcap and the running kernel know, in number order (runc's order).
std::vector<std::string> capabilities() {
    std::vector<std::string> out;
    unsigned bits = cap_max_bits();
    for (unsigned i = 0; i < bits; i++) {
        char* n = cap_to_name(static_cast<cap_value_t>(i));
        if (!n) continue;
        std::string name = n;
        cap_free(n);
        // libcap spells a capability it has no name for as its number.
        if (!name.starts_with("cap_")) continue;
        for (auto& c : name)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(name);
    }
    return out;
}

spec::Features document() {
    spec::Features f;
    f.oci_version_min = "1.0.0";
    f.oci_version_max = spec::kRuntimeSpecVersion;
    f.hooks.assign(std::begin(kHooks), std::end(kHooks));
    f.mount_options = mount_options();

    spec::LinuxFeatures l;
    l.namespaces.assign(std::begin(kNamespaces), std::end(kNamespaces));
    l.capabilities = capabilities();
    // v1, v2 and hybrid managers are in runtime/cgroups; there is no systemd (D-Bus) manager.
    l.cgroup = spec::CgroupFeatures{true, true, false, false, true};
    const seccomp::Support s = seccomp::probe_support();
    spec::SeccompFeatures sc;
    sc.enabled = s.enabled;
    if (s.enabled) {
        sc.actions = s.actions;
        sc.operators = s.operators;
        sc.archs = s.archs;
        sc.known_flags = s.known_flags;
        sc.supported_flags = s.supported_flags;
    }
    l.seccomp = sc;
    // process.apparmorProfile is applied (runtime/linux/process_attrs). SELinux is not claimed:
    // selinuxLabel is applied but linux.mountLabel is not.
    l.apparmor = spec::FeatureEnabled{true};
    l.selinux = spec::FeatureEnabled{false};
    l.intel_rdt = spec::FeatureEnabled{false};
    l.mount_extensions = spec::MountExtensions{spec::FeatureEnabled{true}};
    f.linux_ = std::move(l);

    f.annotations = {
        {"io.github.seccomp.libseccomp.version", s.libseccomp_version},
        {"org.berth.checkpoint.enabled", "false"},
        {"org.berth.version", BERTH_VERSION},
    };
    // What rootless mode can do on this host, for this caller (runc has no field for it).
    const auto r = runtime::rootless::host_support();
    auto yes = [](bool b) { return std::string(b ? "true" : "false"); };
    f.annotations["org.berth.rootless.active"] = yes(runtime::rootless::enabled());
    f.annotations["org.berth.rootless.userns"] = yes(r.user_namespaces);
    f.annotations["org.berth.rootless.idmap_helpers"] = yes(r.newuidmap);
    f.annotations["org.berth.rootless.cgroup"] = r.delegated_cgroup ? "delegated-v2" : "none";
    return f;
}

}  // namespace

int cmd_features(const GlobalOptions&, const std::vector<std::string>& argv) {
    Args a;
    a.flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("features: " + st.error().str());
        return 1;
    }
    if (a.get_bool("help")) {
        std::printf(
            "NAME:\n   berth features - show the enabled features\n\n"
            "USAGE:\n   berth features\n\n"
            "DESCRIPTION:\n   Prints the runtime-spec features document as JSON: what this build "
            "of berth\n   recognises and, for seccomp, what this kernel supports.\n\nOPTIONS:\n%s",
            a.help().c_str());
        return 0;
    }
    if (!a.positionals().empty()) {
        report_error("features: unexpected argument '" + a.positionals()[0] + "'");
        return 1;
    }
    std::string out = spec::to_string(document(), 4);
    std::printf("%s\n", out.c_str());
    return 0;
}

}  // namespace berth::cli
