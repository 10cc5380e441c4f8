// `berth-image build`: a Dockerfile on berth's own pieces. Each RUN runs through the `berth`
// binary in a snapshot bundle of the image so far and each COPY/ADD writes into one; the
// bundle's change is stored as a layer by the commit code. Metadata instructions only change
// the config (a history entry with empty_layer). Stages are built when the target needs them
// (FROM or COPY --from), as BuildKit does; a base image missing from the store is pulled. The
// build cache (cache.hpp) answers steps done before. Not yet: remote ADD sources.
#pragma once

#include <csignal>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "imagetool/registry/client.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::build {

struct BuildOptions {
    std::string dockerfile;         // path of the Dockerfile (messages name it)
    std::string context;            // the build context directory
    std::vector<std::string> tags;  // full normalised references; may be empty
    std::map<std::string, std::string> build_args;
    std::string berth;      // the runtime binary (a path, or a name looked up in PATH)
    bool quiet = false;     // no "STEP" lines
    bool no_cache = false;  // run every step (completed steps are still recorded)
    std::string target;     // --target: a stage name or index; "" is the last stage
    // --network host: RUN steps get no network namespace of their own (RUN --network=...
    // overrides it for one step).
    bool host_network = false;
    // Registry settings for pulling an image that is not in the store (FROM, COPY --from),
    // given the registry's name; unset pulls with the defaults.
    std::function<Result<RegistryOptions>(const std::string& registry)> registry;
};

// Set by the caller's SIGINT/SIGTERM handler: the build stops before the next step and
// cleans up (the signal that reaches a RUN's process group ends the RUN itself).
extern volatile std::sig_atomic_t interrupted;

// On failure no tag is written or changed and no bundle stays mounted.
Result<spec::Descriptor> build_image(Store& store, const BuildOptions& opts);

// --platform and FROM --platform: only the host's platform can be built (RUN executes on
// this machine). An error says which platform the host is.
Status check_platform(std::string_view text);

}  // namespace berth::image::build
