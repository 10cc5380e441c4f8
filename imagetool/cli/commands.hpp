// The berth-image commands: each parses its own flags and calls into the image library.
#pragma once

#include <string>
#include <vector>

namespace berth::image::cli {

struct GlobalOptions {
    std::string store;  // resolved: --store, /var/lib/berth (root), $XDG_DATA_HOME/berth-image
    bool debug = false;
};

using CommandFn = int (*)(const GlobalOptions&, const std::vector<std::string>&);

// registry and store (imagetool/registry, imagetool/store)
int cmd_pull(const GlobalOptions&, const std::vector<std::string>&);
int cmd_push(const GlobalOptions&, const std::vector<std::string>&);
int cmd_images(const GlobalOptions&, const std::vector<std::string>&);
int cmd_inspect(const GlobalOptions&, const std::vector<std::string>&);
int cmd_tag(const GlobalOptions&, const std::vector<std::string>&);
int cmd_rm(const GlobalOptions&, const std::vector<std::string>&);
int cmd_gc(const GlobalOptions&, const std::vector<std::string>&);
int cmd_login(const GlobalOptions&, const std::vector<std::string>&);
int cmd_logout(const GlobalOptions&, const std::vector<std::string>&);
// transports (imagetool/transport)
int cmd_copy(const GlobalOptions&, const std::vector<std::string>&);
int cmd_save(const GlobalOptions&, const std::vector<std::string>&);
int cmd_load(const GlobalOptions&, const std::vector<std::string>&);
// layers and bundles (imagetool/layer, imagetool/bundle)
int cmd_unpack(const GlobalOptions&, const std::vector<std::string>&);
int cmd_import(const GlobalOptions&, const std::vector<std::string>&);
int cmd_umount(const GlobalOptions&, const std::vector<std::string>&);
int cmd_commit(const GlobalOptions&, const std::vector<std::string>&);
// Dockerfile builds (imagetool/build)
int cmd_build(const GlobalOptions&, const std::vector<std::string>&);

// Prints "berth-image: <msg>" to stderr.
void report_error(const std::string& msg);

}  // namespace berth::image::cli
