// berth-image images: list the names in the store.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/args.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/progress.hpp"
#include "imagetool/reference.hpp"
#include "imagetool/store/store.hpp"

namespace berth::image::cli {

namespace {

struct Row {
    std::string name, repository, tag, digest, id, platform;
    int64_t size = 0;
};

Row describe(const Store& store, const ImageEntry& e) {
    Row r;
    r.name = e.name;
    r.digest = e.descriptor.digest.str();
    if (auto ref = Reference::parse(e.name)) {
        r.repository = ref->name();
        r.tag = ref->tag.empty() ? "<none>" : ref->tag;
    } else {
        r.repository = e.name.empty() ? "<none>" : e.name;
        r.tag = "<none>";
    }
    spec::Descriptor d = e.descriptor;
    d.annotations.clear();
    auto m = store.resolve(e.descriptor.digest.str());
    if (m) {
        if (auto man = store.read_manifest(*m)) {
            r.id = man->config.digest.hex;
            r.size = man->config.size;
            for (const auto& l : man->layers)
                r.size += l.size;
        }
        if (m->platform) r.platform = spec::platform_string(*m->platform);
    }
    return r;
}

}  // namespace

int cmd_images(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("format", "FORMAT", "output format: table or json", "table")
        .flag("digests", "show manifest digests")
        .flag("quiet,q", "print only image IDs")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("images: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image images [options]\n\n%s", a.help().c_str());
        return 0;
    }
    std::string format = a.get("format");
    if (format != "table" && format != "json") {
        report_error("images: --format: expected 'table' or 'json', not '" + format + "'");
        return 125;
    }
    auto store = Store::open(g.store);
    if (!store) {
        report_error("images: " + store.error().str());
        return 1;
    }
    auto entries = store->list();
    if (!entries) {
        report_error("images '" + g.store + "': " + entries.error().str());
        return 1;
    }
    std::vector<Row> rows;
    for (const auto& e : *entries)
        rows.push_back(describe(*store, e));
    if (format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"name", r.name},
                           {"repository", r.repository},
                           {"tag", r.tag},
                           {"digest", r.digest},
                           {"id", r.id},
                           {"size", r.size},
                           {"platform", r.platform}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (a.get_bool("quiet")) {
        for (const auto& r : rows)
            std::printf("%s\n", r.id.substr(0, 12).c_str());
        return 0;
    }
    bool digests = a.get_bool("digests");
    size_t w = 10;
    for (const auto& r : rows)
        w = std::max(w, r.repository.size());
    std::printf(
        "%-*s  %-16s  %s%-12s  %s\n", int(w), "REPOSITORY", "TAG",
        digests ? "DIGEST                                                                   " : "",
        "IMAGE ID", "SIZE");
    for (const auto& r : rows) {
        std::string dg = digests ? r.digest + "  " : "";
        std::printf("%-*s  %-16s  %s%-12s  %s\n", int(w), r.repository.c_str(), r.tag.c_str(),
                    dg.c_str(), r.id.substr(0, 12).c_str(), human_size(r.size).c_str());
    }
    return 0;
}

}  // namespace berth::image::cli
