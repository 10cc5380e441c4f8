// berth spec: write runc's default config.json (or the rootless variant) into the bundle.
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/util.hpp"
#include "spec/runtime_config.hpp"

namespace berth::cli {

int cmd_spec(const GlobalOptions&, const std::vector<std::string>& argv) {
    Args a;
    a.option("bundle,b", "value", "path to the root of the bundle directory")
        .flag("rootless", "generate a configuration for a rootless container");
    int status;
    if (!parse_or_help(a, argv, "spec [command options]", &status)) return status;
    if (!a.positionals().empty()) return fail(error("\"spec\" requires exactly 0 argument(s)"));
    std::string dir = a.get("bundle");
    std::string path = dir.empty() ? "config.json" : dir + "/config.json";
    struct stat sb;
    if (!dir.empty() && (::stat(dir.c_str(), &sb) < 0 || !S_ISDIR(sb.st_mode)))
        return fail(error("bundle '" + dir + "': not a directory"));
    if (::lstat(path.c_str(), &sb) == 0) return fail(error("File " + path + " exists. Remove it first"));
    auto spec = spec::default_spec(a.get_bool("rootless"), ::getuid(), ::getgid());
    if (auto s = write_file_atomic(path, spec::to_string(spec, 2) + "\n", 0644); !s)
        return fail(s.error());
    return 0;
}

}  // namespace berth::cli
