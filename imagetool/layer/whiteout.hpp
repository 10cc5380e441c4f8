// Whiteouts (image-spec layer.md): ".wh.<name>" hides <name> of the lower layers, and
// ".wh..wh..opq" hides every lower entry of its directory. They act only on LOWER layers,
// whatever their position in the tar, so the entries this layer made are tracked and spared.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "base/result.hpp"

namespace berth::image::layer {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

enum class WhiteoutKind { none, file, opaque, ignored };

struct Whiteout {
    WhiteoutKind kind = WhiteoutKind::none;
    std::string target;  // cleaned path: the hidden entry (file) or the directory (opaque)
};

// Classifies a cleaned entry path. ".wh." alone, ".wh.." and ".wh..." name nothing a layer can
// hide and are errors; other ".wh..wh.*" names are aufs bookkeeping and ignored, as Docker does.
Result<Whiteout> parse_whiteout(const std::string& clean);

// The paths this layer has created so far, and every directory above them.
class LayerEntries {
  public:
    void add(const std::string& path);
    bool created(const std::string& path) const { return created_.count(path) != 0; }
    bool has_below(const std::string& path) const { return ancestors_.count(path) != 0; }
    bool touched(const std::string& path) const { return created(path) || has_below(path); }

  private:
    std::unordered_set<std::string> created_;
    std::unordered_set<std::string> ancestors_;
};

// Removes `name` (path `path` in the layer) in `dir_fd` as it came from lower layers: a lower
// entry goes entirely; a directory holding entries of this layer keeps them and loses the
// rest. Never follows a symlink. Missing is fine.
Status remove_lower(int dir_fd, const std::string& name, const std::string& path,
                    const LayerEntries& mine);
// The opaque whiteout: every lower entry inside the directory `dir_fd` (path `path`) goes.
Status clear_lower_children(int dir_fd, const std::string& path, const LayerEntries& mine);
// rm -rf of `name` in `dir_fd` without following symlinks; missing is fine.
Status remove_tree(int dir_fd, const std::string& name);

}  // namespace berth::image::layer
