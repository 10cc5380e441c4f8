// `berth-image build`: one stage of a Dockerfile on berth's own pieces. Each RUN runs through
// the `berth` binary in a snapshot bundle of the image so far and each COPY/ADD writes into
// one; the bundle's change is stored as a layer by the commit code. Metadata instructions only
// change the config (a history entry with empty_layer); the build cache (cache.hpp) answers
// steps done before. Not yet: multi-stage, pulling the base image, remote ADD sources, HEALTHCHECK
// and ONBUILD.
#pragma once

#include <csignal>
#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
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
};

// Set by the caller's SIGINT/SIGTERM handler: the build stops before the next step and
// cleans up (the signal that reaches a RUN's process group ends the RUN itself).
extern volatile std::sig_atomic_t interrupted;

// On failure no tag is written or changed and no bundle stays mounted.
Result<spec::Descriptor> build_image(Store& store, const BuildOptions& opts);

}  // namespace berth::image::build
