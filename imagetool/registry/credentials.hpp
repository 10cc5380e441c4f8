// Registry credentials: --creds, auth.json files (podman's and Docker's), credential helpers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace berth::image {

struct Credentials {
    std::string username;
    std::string password;  // or an identity token when username is "<token>"
};

// "user:pass" as --creds takes it (the password may contain ':'; an empty user is refused).
Result<Credentials> parse_creds(const std::string& text);

// The auth file login writes: --authfile, else $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json (podman's).
std::string default_authfile(const std::string& flag);

// Looks up credentials for a registry (host[:port], normalised). With an explicit
// --authfile only that file is read; otherwise $REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json (auths, credHelpers,
// credsStore via docker-credential-<name> get). Missing files are fine; broken ones are
// errors naming the file.
Result<std::optional<Credentials>> lookup_credentials(const std::string& registry,
                                                      const std::string& authfile_flag);

// Writes (mode 0600, atomically) or removes the entry for a registry in an auth.json.
Status store_credentials(const std::string& authfile, const std::string& registry,
                         const Credentials& creds);
// Returns false if there was no entry. registry empty = remove all entries.
Result<bool> remove_credentials(const std::string& authfile, const std::string& registry);

}  // namespace berth::image
