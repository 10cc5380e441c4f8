// Shared registry flags.
#include "imagetool/cli/registry_flags.hpp"

#include <cstdlib>

namespace berth::image::cli {

void add_registry_flags(Args& a, bool with_creds, const std::string& prefix) {
    std::string side = prefix == "src-" ? "source: " : prefix == "dest-" ? "destination: " : "";
    if (with_creds)
        a.option(prefix + "creds", "USER[:PASS]", side + "credentials for the registry");
    a.option(
         prefix + "authfile", "FILE",
         side + "auth file (default $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)")
        .flag(prefix + "tls-verify",
              side + "require HTTPS and verify certificates (default: true, except loopback)")
        .option(prefix + "cert-dir", "DIR",
                side + "use certificates (*.crt, *.cert/*.key) from DIR");
}

Result<RegistryOptions> registry_options(const Args& a, const std::string& registry,
                                         bool with_creds, const std::string& prefix) {
    RegistryOptions o;
    if (a.has(prefix + "tls-verify")) o.tls_verify = a.get_bool(prefix + "tls-verify");
    o.cert_dir = a.get(prefix + "cert-dir");
    std::string authfile = a.get(prefix + "authfile");
    if (authfile.empty() && !prefix.empty()) authfile = a.get("authfile");
    // $BERTH_CERTS_D: colon-separated certs.d roots instead of /etc/containers/certs.d and
    // /etc/docker/certs.d (tests and unprivileged users point it at their own tree).
    if (const char* env = std::getenv("BERTH_CERTS_D"); env && *env) {
        std::string v = env;
        for (size_t start = 0; start <= v.size();) {
            size_t colon = v.find(':', start);
            std::string dir = v.substr(start, colon == std::string::npos ? colon : colon - start);
            if (!dir.empty()) o.certs_d.push_back(dir);
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
    }
    if (with_creds && a.has(prefix + "creds")) {
        o.creds = TRY(parse_creds(a.get(prefix + "creds")));
    } else if (with_creds) {
        o.creds = TRY(lookup_credentials(registry, authfile));
    }
    return o;
}

}  // namespace berth::image::cli
