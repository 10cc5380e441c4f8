// The origin record: a small JSON file, written once at unpack.
#include "imagetool/bundle/origin.hpp"

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "imagetool/bundle/snapshot.hpp"

namespace berth::image::bundle {

std::string origin_dir(const std::string& bundle_dir) {
    return bundle_dir + "/.berth-image";
}

Status write_origin(const std::string& bundle_dir, const Origin& o) {
    TRY(mkdir_p(origin_dir(bundle_dir), 0700));
    nlohmann::json j = {{"store", o.store},
                        {"name", o.name},
                        {"manifest", o.manifest},
                        {"mode", o.snapshot ? "snapshot" : "full"}};
    std::string path = origin_dir(bundle_dir) + "/origin.json";
    // A snapshot bundle is an overlay mount that does not outlive a reboot: no fsync (see
    // write_snapshot_file); a full unpack is durable, and so is its record.
    if (o.snapshot) return write_snapshot_file(path, j.dump() + "\n", 0600);
    return write_file_atomic(path, j.dump() + "\n", 0600);
}

Result<Origin> read_origin(const std::string& bundle_dir) {
    std::string path = origin_dir(bundle_dir) + "/origin.json";
    auto text = read_file(path, 1u << 20);
    if (!text) {
        if (text.error().code() == ENOENT)
            return error("'" + bundle_dir + "' has no record of the image it was unpacked from (" +
                         path + "): was it made by `berth-image unpack`?");
        return std::move(text).error().with_context("read '" + path + "'");
    }
    Origin o;
    try {
        auto j = nlohmann::json::parse(*text);
        o.store = j.at("store").get<std::string>();
        o.name = j.value("name", "");
        o.manifest = j.at("manifest").get<std::string>();
        o.snapshot = j.at("mode").get<std::string>() == "snapshot";
    } catch (const std::exception& e) {
        return error("'" + path + "': " + e.what());
    }
    return o;
}

}  // namespace berth::image::bundle
