// berth-image umount DIR: unmounts a snapshot bundle and removes it.
#include <unistd.h>

#include <cstdio>

#include "base/args.hpp"
#include "imagetool/bundle/snapshot.hpp"
#include "imagetool/cli/commands.hpp"

namespace berth::image::cli {

int cmd_umount(const GlobalOptions&, const std::vector<std::string>& argv) {
    Args a;
    a.flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("umount: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help") || a.positionals().size() != 1) {
        std::printf(
            "Usage: berth-image umount DIR\n\n"
            "Unmounts a bundle made by 'unpack --snapshot' and removes it.\n");
        return a.get_bool("help") ? 0 : 125;
    }
    std::string dir = a.positionals()[0];
    if (!dir.empty() && dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd)) dir = std::string(cwd) + "/" + dir;
    }
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    if (auto st = bundle::umount_snapshot(dir); !st) {
        report_error("umount: " + st.error().str());
        return 1;
    }
    return 0;
}

}  // namespace berth::image::cli
