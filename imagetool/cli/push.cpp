// berth-image push: send an image from the store to a registry.
#include <cstdio>
#include <cstdlib>

#include "base/args.hpp"
#include "base/file.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/progress.hpp"
#include "imagetool/cli/registry_flags.hpp"
#include "imagetool/registry/push.hpp"

namespace berth::image::cli {

int cmd_push(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    add_registry_flags(a, true);
    a.option("jobs,j", "N", "blobs uploaded at once", "4")
        .option("chunk-size", "BYTES",
                "blobs larger than this are sent in PATCH chunks of this size (default: one "
                "PUT up to 16 MiB, 64 MiB chunks above)")
        .option("digestfile", "FILE", "write the digest of the pushed image to FILE")
        .flag("quiet,q", "print nothing but errors")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("push: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image push [options] NAME [[docker://]DESTINATION]\n\n%s",
                    a.help().c_str());
        return 0;
    }
    const auto& pos = a.positionals();
    if (pos.empty() || pos.size() > 2) {
        report_error("push: expected an image name and at most one destination");
        return 125;
    }
    const std::string& source = pos[0];
    auto fail = [&](const Error& e) {
        report_error("push '" + source + "': " + e.str());
        return 1;
    };
    std::string dest_text = pos.size() == 2 ? pos[1] : source;
    if (dest_text.starts_with("docker://")) dest_text = dest_text.substr(9);
    auto dest = Reference::parse(dest_text);
    if (!dest) return fail(dest.error().with_context("destination"));

    PushOptions opts;
    auto jobs = a.get_number("jobs", 1, 64);
    if (!jobs) {
        report_error("push: --jobs: expected a number from 1 to 64");
        return 125;
    }
    opts.jobs = int(*jobs);
    if (a.has("chunk-size")) {
        auto cs = a.get_number("chunk-size", 1024, 1LL << 32);
        if (!cs) {
            report_error("push: --chunk-size: expected a number of bytes from 1024 to 4 GiB");
            return 125;
        }
        opts.upload.monolithic_max = *cs;
        opts.upload.chunk = *cs;
    }
    auto ro = registry_options(a, dest->registry, true);
    if (!ro) return fail(ro.error());
    opts.registry = *ro;
    auto store = Store::open(g.store);
    if (!store) return fail(store.error());
    bool quiet = a.get_bool("quiet");
    ProgressDisplay progress(stderr, "Pushing");
    if (!quiet) std::fprintf(stderr, "Pushing %s\n", dest->str().c_str());
    auto r = push_image(*store, source, *dest, opts, quiet ? nullptr : &progress);
    if (!r) return fail(r.error());
    if (a.has("digestfile")) {
        if (auto st = write_file_atomic(a.get("digestfile"), r->digest.str()); !st)
            return fail(st.error().with_context("--digestfile"));
    }
    if (!quiet) {
        progress.finish();
        std::printf("Digest: %s\nStatus: pushed %s\n", r->digest.str().c_str(),
                    r->destination.c_str());
    }
    return 0;
}

}  // namespace berth::image::cli
