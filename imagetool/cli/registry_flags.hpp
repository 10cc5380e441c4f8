// The registry flags pull and login share (--creds, --authfile, --tls-verify, --cert-dir).
#pragma once

#include <string>

#include "base/args.hpp"
#include "imagetool/registry/client.hpp"

namespace berth::image::cli {

void add_registry_flags(Args& a, bool with_creds);
// Registry options from the flags; credentials from --creds or the auth files.
Result<RegistryOptions> registry_options(const Args& a, const std::string& registry,
                                         bool with_creds);

}  // namespace berth::image::cli
