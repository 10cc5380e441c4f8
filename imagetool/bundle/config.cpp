// Image config -> runtime config. Fields the image does not speak to keep `berth spec`'s
// defaults; the image's own settings win over them, and command-line overrides over both.
#include "imagetool/bundle/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/in_root.hpp"
#include "imagetool/bundle/user.hpp"

namespace berth::image::bundle {
namespace {

std::string env_key(const std::string& kv) {
    return kv.substr(0, kv.find('='));
}

void set_default_env(std::vector<std::string>& env, const std::string& kv) {
    std::string k = env_key(kv);
    for (const auto& e : env)
        if (env_key(e) == k) return;
    env.push_back(kv);
}

bool clean_abs(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    for (const auto& c : path_components(p))
        if (c == "..") return false;
    return true;
}

}  // namespace

Result<VolumeBind> parse_volume(const std::string& text) {
    VolumeBind v;
    std::vector<std::string> parts;
    size_t i = 0;
    for (;;) {
        size_t j = text.find(':', i);
        parts.push_back(text.substr(i, j == std::string::npos ? std::string::npos : j - i));
        if (j == std::string::npos) break;
        i = j + 1;
    }
    if (parts.size() < 2 || parts.size() > 3)
        return error("--volume '" + text + "': expected HOST:CONTAINER[:ro|rw]");
    v.host = parts[0];
    v.container = parts[1];
    if (parts.size() == 3) {
        if (parts[2] == "ro")
            v.readonly = true;
        else if (parts[2] != "rw")
            return error("--volume '" + text + "': unknown option '" + parts[2] + "'");
    }
    if (v.host.empty() || v.host[0] != '/')
        return error("--volume '" + text + "': host path must be absolute");
    if (!clean_abs(v.container))
        return error("--volume '" + text + "': container path must be absolute, without '..'");
    return v;
}

Result<spec::Spec> make_config(const spec::ImageConfig& image, int rootfs_fd,
                               const BundleOptions& opts) {
    spec::Spec s = spec::default_spec(opts.rootless, opts.uid, opts.gid);
    s.root = spec::Root{"rootfs", false};
    // RAPL energy counters are a power side channel on co-located workloads
    // (CVE-2020-8694); containerd masks them in its default spec (GHSA-7ww5-4wqc-m92c).
    if (s.linux_) s.linux_->masked_paths.push_back("/sys/devices/virtual/powercap");
    spec::ContainerConfig cc = image.config.value_or(spec::ContainerConfig{});
    if (!s.process) s.process = spec::Process{};
    spec::Process& p = *s.process;
    p.terminal = opts.terminal;

    // args = Entrypoint + Cmd; --entrypoint resets Cmd as Docker does; trailing args replace Cmd.
    std::vector<std::string> entry = cc.entrypoint.value_or(std::vector<std::string>{});
    std::vector<std::string> cmd = cc.cmd.value_or(std::vector<std::string>{});
    if (opts.entrypoint) {
        entry = *opts.entrypoint;
        cmd.clear();
    }
    if (!opts.args.empty()) cmd = opts.args;
    // Neither Entrypoint nor Cmd: `berth spec`'s default ("sh") stays, as umoci leaves it.
    if (!entry.empty() || !cmd.empty()) {
        p.args = entry;
        p.args.insert(p.args.end(), cmd.begin(), cmd.end());
    }

    p.cwd = cc.working_dir.empty() ? "/" : cc.working_dir;
    if (p.cwd[0] != '/') return error("image WorkingDir '" + cc.working_dir + "' is not absolute");

    ResolvedUser u = TRY_CTX(resolve_user(rootfs_fd, cc.user), "image User '" + cc.user + "'");
    p.user.uid = u.uid;
    p.user.gid = u.gid;
    p.user.additional_gids = u.additional_gids;

    p.env = cc.env;
    set_default_env(p.env, kDefaultPath);
    set_default_env(p.env, "TERM=xterm");
    set_default_env(p.env, "HOME=" + (u.home.empty() ? std::string("/") : u.home));

    // Volumes: an anonymous volume becomes a private tmpfs unless the user binds it.
    std::vector<std::string> bound;
    for (const auto& v : opts.volumes) {
        spec::Mount m;
        m.destination = v.container;
        m.type = "bind";
        m.source = v.host;
        m.options = {"rbind", v.readonly ? "ro" : "rw"};
        s.mounts.push_back(std::move(m));
        bound.push_back(v.container);
    }
    for (const auto& vol : cc.volumes) {
        if (std::find(bound.begin(), bound.end(), vol) != bound.end()) continue;
        if (!clean_abs(vol))
            return error("image volume '" + vol + "' is not a clean absolute path");
        spec::Mount m;
        m.destination = vol;
        m.type = "tmpfs";
        m.source = "tmpfs";
        m.options = {"nosuid", "nodev", "mode=755"};
        s.mounts.push_back(std::move(m));
    }

    if (opts.engine_capabilities) {
        // moby's oci/caps/defaults.go, the set buildah and containerd also use.
        std::vector<std::string> caps = {
            "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
            "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL",    "CAP_AUDIT_WRITE"};
        spec::Capabilities c;
        c.bounding = c.effective = c.permitted = caps;
        p.capabilities = c;
        p.no_new_privileges = false;
    }
    if (opts.host_network && s.linux_) {
        auto& ns = s.linux_->namespaces;
        ns.erase(std::remove_if(ns.begin(), ns.end(),
                                [](const spec::Namespace& n) { return n.type == "network"; }),
                 ns.end());
        // Only over files the image has: a bind mount onto a missing file would make the
        // runtime create it, and a build would then commit it into the layer.
        for (const char* f : {"/etc/resolv.conf", "/etc/hosts"}) {
            auto fd = open_in_root(rootfs_fd, f, O_PATH | O_NOFOLLOW);
            struct stat st;
            if (!fd || fstat(fd->get(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
            if (access(f, R_OK) != 0) continue;
            spec::Mount m;
            m.destination = f;
            m.type = "bind";
            m.source = f;
            m.options = {"rbind", "ro"};
            s.mounts.push_back(std::move(m));
        }
    }

    // Annotations per conversion.md; labels first so the spec's own keys win.
    for (const auto& [k, v] : cc.labels)
        s.annotations[k] = v;
    auto put = [&](const char* k, const std::string& v) {
        if (!v.empty()) s.annotations[k] = v;
    };
    put("org.opencontainers.image.os", image.os);
    put("org.opencontainers.image.architecture", image.architecture);
    put("org.opencontainers.image.variant", image.variant);
    put("org.opencontainers.image.os.version", image.os_version);
    put("org.opencontainers.image.author", image.author);
    put("org.opencontainers.image.created", image.created);
    put("org.opencontainers.image.stopSignal", cc.stop_signal);
    std::string features, ports;
    for (const auto& f : image.os_features)
        features += (features.empty() ? "" : ",") + f;
    for (const auto& port : cc.exposed_ports)
        ports += (ports.empty() ? "" : ",") + port;
    put("org.opencontainers.image.os.features", features);
    put("org.opencontainers.image.exposedPorts", ports);
    return s;
}

}  // namespace berth::image::bundle
