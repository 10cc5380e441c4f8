// Shared registry flags.
#include "imagetool/cli/registry_flags.hpp"

#include <cstdlib>

namespace berth::image::cli {

void add_registry_flags(Args& a, bool with_creds) {
    if (with_creds) a.option("creds", "USER[:PASS]", "credentials for the registry");
    a.option("authfile", "FILE",
             "auth file (default $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)")
        .flag("tls-verify",
              "require HTTPS and verify certificates (default: true, except loopback)")
        .option("cert-dir", "DIR", "use certificates (*.crt, *.cert/*.key) from DIR");
}

Result<RegistryOptions> registry_options(const Args& a, const std::string& registry,
                                         bool with_creds) {
    RegistryOptions o;
    if (a.has("tls-verify")) o.tls_verify = a.get_bool("tls-verify");
    o.cert_dir = a.get("cert-dir");
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
    if (with_creds && a.has("creds")) {
        o.creds = TRY(parse_creds(a.get("creds")));
    } else if (with_creds) {
        o.creds = TRY(lookup_credentials(registry, a.get("authfile")));
    }
    return o;
}

}  // namespace berth::image::cli
