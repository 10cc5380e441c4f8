// berth-image copy, save and load: moving an image between transports (imagetool/transport).
#include <cstdio>
#include <cstdlib>

#include "base/args.hpp"
#include "base/file.hpp"
#include "imagetool/cli/commands.hpp"
#include "imagetool/cli/registry_flags.hpp"
#include "imagetool/transport/transport.hpp"

namespace berth::image::cli {

namespace {

namespace t = transport;

const char* kTransports =
    "Transports:\n"
    "  docker://HOST/REPO[:TAG|@DIGEST]  a registry\n"
    "  oci:DIR[:REF]                     an OCI image layout (REF: its ref.name annotation)\n"
    "  oci-archive:FILE[:REF]            a tar of an OCI image layout\n"
    "  docker-archive:FILE[:NAME:TAG]    the `docker save` format\n"
    "  berth:NAME[:TAG], or NAME[:TAG]   the berth image store\n";

Result<t::CopyResult> run_copy(const GlobalOptions& g, const Args& a, const t::Location& src,
                               const t::Location& dst) {
    t::CopyOptions opts;
    opts.all = a.get_bool("all");
    if (a.has("jobs")) {
        auto jobs = a.get_number("jobs", 1, 64);
        if (!jobs) return error("--jobs: expected a number from 1 to 64");
        opts.jobs = int(*jobs);
    }
    if (a.has("platform")) opts.platform = TRY(spec::parse_platform(a.get("platform")));
    if (src.kind == t::Kind::registry)
        opts.src_registry =
            TRY_CTX(registry_options(a, src.reference.registry, true, "src-"), "source");
    if (dst.kind == t::Kind::registry)
        opts.dst_registry =
            TRY_CTX(registry_options(a, dst.reference.registry, true, "dest-"), "destination");
    auto store = TRY(Store::open(g.store));
    return t::copy_image(store, src, dst, opts);
}

void print_notes(const t::CopyResult& r) {
    for (const auto& n : r.notes)
        std::fprintf(stderr, "berth-image: note: %s\n", n.c_str());
}

}  // namespace

int cmd_copy(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    add_registry_flags(a, true, "src-");
    add_registry_flags(a, true, "dest-");
    a.option("authfile", "FILE", "auth file for both sides (see --src-authfile)")
        .option("platform", "OS/ARCH[/VARIANT]",
                "platform to choose from an index (default: this host)")
        .flag("all,a", "copy a whole multi-platform index, every platform")
        .option("digestfile", "FILE", "write the digest of the copied manifest or index to FILE")
        .option("jobs,j", "N", "blobs copied at once (default 4)")
        .flag("quiet,q", "print nothing but errors")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("copy: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf("Usage: berth-image copy [options] SOURCE DESTINATION\n\n%s\n%s", kTransports,
                    a.help().c_str());
        return 0;
    }
    if (a.positionals().size() != 2) {
        report_error("copy: expected a source and a destination");
        return 125;
    }
    auto fail = [&](const Error& e) {
        report_error("copy '" + a.positionals()[0] + "' to '" + a.positionals()[1] +
                     "': " + e.str());
        return 1;
    };
    if (a.get_bool("all") && a.has("platform")) {
        report_error("copy: --all and --platform exclude each other");
        return 125;
    }
    auto src = t::parse_location(a.positionals()[0]);
    if (!src) return fail(src.error().with_context("source"));
    auto dst = t::parse_location(a.positionals()[1]);
    if (!dst) return fail(dst.error().with_context("destination"));
    auto r = run_copy(g, a, *src, *dst);
    if (!r) return fail(r.error());
    print_notes(*r);
    if (a.has("digestfile")) {
        if (auto st = write_file_atomic(a.get("digestfile"), r->top.digest.str()); !st)
            return fail(st.error().with_context("--digestfile"));
    }
    if (!a.get_bool("quiet"))
        std::printf("Copied %s to %s\nDigest: %s\n", src->text.c_str(), dst->text.c_str(),
                    r->top.digest.str().c_str());
    return 0;
}

int cmd_save(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("format", "FORMAT", "oci-archive or docker-archive", "oci-archive")
        .option("platform", "OS/ARCH[/VARIANT]",
                "platform to choose from an index (default: this host)")
        .flag("all,a", "keep a whole multi-platform index (oci-archive only)")
        .flag("quiet,q", "print nothing but errors")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("save: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf(
            "Usage: berth-image save [options] NAME FILE\n\n"
            "Writes an image from the store to an archive (copy berth:NAME FORMAT:FILE).\n\n%s",
            a.help().c_str());
        return 0;
    }
    if (a.positionals().size() != 2) {
        report_error("save: expected an image name and a file");
        return 125;
    }
    const std::string& name = a.positionals()[0];
    const std::string& file = a.positionals()[1];
    std::string format = a.get("format");
    if (format != "oci-archive" && format != "docker-archive") {
        report_error("save: --format: expected oci-archive or docker-archive, not '" + format +
                     "'");
        return 125;
    }
    auto fail = [&](const Error& e) {
        report_error("save '" + name + "': " + e.str());
        return 1;
    };
    t::Location src;
    src.kind = t::Kind::store;
    src.text = "berth:" + name;
    src.ref = name;
    t::Location dst;
    dst.kind = format == "oci-archive" ? t::Kind::oci_archive : t::Kind::docker_archive;
    dst.path = file;
    dst.text = format + ":" + file;
    // The archive carries the image's full name, which `load` gives it back.
    auto ref = Reference::parse(name);
    if (ref) dst.ref = ref->str();
    auto r = run_copy(g, a, src, dst);
    if (!r) return fail(r.error());
    if (!a.get_bool("quiet"))
        std::printf("Saved %s to %s\nDigest: %s\n", name.c_str(), dst.text.c_str(),
                    r->top.digest.str().c_str());
    return 0;
}

int cmd_load(const GlobalOptions& g, const std::vector<std::string>& argv) {
    Args a;
    a.option("platform", "OS/ARCH[/VARIANT]",
             "platform to choose from an index (default: this host)")
        .flag("all,a", "keep a whole multi-platform index")
        .flag("quiet,q", "print nothing but errors")
        .flag("help,h", "show help");
    if (auto st = a.parse(argv); !st) {
        report_error("load: " + st.error().str());
        return 125;
    }
    if (a.get_bool("help")) {
        std::printf(
            "Usage: berth-image load [options] FILE [NAME[:TAG]]\n\n"
            "Reads an oci-archive or docker-archive (detected) into the store, under\n"
            "NAME or the name the archive records.\n\n%s",
            a.help().c_str());
        return 0;
    }
    if (a.positionals().empty() || a.positionals().size() > 2) {
        report_error("load: expected an archive file and at most one name");
        return 125;
    }
    const std::string& file = a.positionals()[0];
    auto fail = [&](const Error& e) {
        report_error("load '" + file + "': " + e.str());
        return 1;
    };
    auto kind = t::detect_archive(file);
    if (!kind) return fail(kind.error());
    t::Location src;
    src.kind = *kind;
    src.path = file;
    src.text = std::string(t::kind_name(*kind)) + ":" + file;
    t::Location dst;
    dst.kind = t::Kind::store;
    if (a.positionals().size() == 2) dst.ref = a.positionals()[1];
    dst.text = "berth:" + dst.ref;
    // Several images (podman save -m, docker save A B): each under its own name, one copy
    // each; with NAME given, the archive must hold one.
    auto names = t::archive_images(file, *kind);
    if (!names) return fail(names.error());
    std::vector<std::string> refs{""};
    if (names->size() > 1 && dst.ref.empty()) {
        refs.clear();
        for (const auto& n : *names) {
            if (n.empty())
                return fail(error("holds " + std::to_string(names->size()) +
                                  " images, not all named: load them with copy"));
            refs.push_back(n);
        }
    }
    for (const auto& ref : refs) {
        src.ref = ref;
        auto r = run_copy(g, a, src, dst);
        if (!r) return fail(r.error());
        print_notes(*r);
        if (!a.get_bool("quiet"))
            std::printf("Loaded %s%s\nDigest: %s\n", src.text.c_str(),
                        ref.empty() ? "" : (" " + ref).c_str(), r->top.digest.str().c_str());
    }
    return 0;
}

}  // namespace berth::image::cli
