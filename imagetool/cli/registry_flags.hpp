// The registry flags pull and login share (--creds, --authfile, --tls-verify, --cert-dir);
// copy has one set per side (--src-creds, --dest-tls-verify, ...) as skopeo does.
#pragma once

#include <string>

#include "base/args.hpp"
#include "imagetool/registry/client.hpp"

namespace berth::image::cli {

// prefix: "" for pull/push/login, "src-" or "dest-" for copy.
void add_registry_flags(Args& a, bool with_creds, const std::string& prefix = "");
// Registry options from the flags; credentials from --creds or the auth files. A prefixed
// side without its own --PREFIXauthfile uses a plain --authfile when the command has one.
Result<RegistryOptions> registry_options(const Args& a, const std::string& registry,
                                         bool with_creds, const std::string& prefix = "");

}  // namespace berth::image::cli
