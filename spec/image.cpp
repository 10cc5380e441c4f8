// Image-spec basics: digests, media types, platforms, and telling manifest kinds apart.
#include "spec/image.hpp"

#include <sys/utsname.h>

#include <ctime>

#include "spec/image_json.hpp"

namespace berth::spec {

Compression layer_compression(std::string_view mt) {
    if (mt == kMediaTypeOciLayer || mt == kMediaTypeOciLayerNondistributable)
        return Compression::none;
    if (mt == kMediaTypeOciLayerGzip || mt == kMediaTypeOciLayerNondistributableGzip ||
        mt == kMediaTypeDockerLayerGzip || mt == kMediaTypeDockerForeignLayerGzip)
        return Compression::gzip;
    if (mt == kMediaTypeOciLayerZstd || mt == kMediaTypeOciLayerNondistributableZstd)
        return Compression::zstd;
    return Compression::unknown;
}

bool is_layer_media_type(std::string_view mt) {
    return layer_compression(mt) != Compression::unknown;
}

Result<Digest> Digest::parse(std::string_view text) {
    auto bad = [&](const char* why) {
        return error(ErrorKind::invalid, "invalid digest '" + std::string(text) + "': " + why);
    };
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return bad("expected algorithm:hex");
    std::string_view alg = text.substr(0, colon), hex = text.substr(colon + 1);
    size_t want;
    if (alg == "sha256")
        want = 64;
    else if (alg == "sha512")
        want = 128;
    else
        return bad("unsupported algorithm (sha256 or sha512)");
    if (hex.size() != want) return bad("wrong length");
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad("not lowercase hex");
    return Digest{std::string(alg), std::string(hex)};
}

const char* media_type_of(ManifestKind k) {
    switch (k) {
        case ManifestKind::oci_manifest:
            return kMediaTypeOciManifest;
        case ManifestKind::oci_index:
            return kMediaTypeOciIndex;
        case ManifestKind::docker_manifest:
            return kMediaTypeDockerManifest;
        case ManifestKind::docker_list:
            return kMediaTypeDockerManifestList;
    }
    return "";
}

bool is_index_kind(ManifestKind k) {
    return k == ManifestKind::oci_index || k == ManifestKind::docker_list;
}

namespace {

std::optional<ManifestKind> kind_of(std::string_view mt) {
    if (mt == kMediaTypeOciManifest) return ManifestKind::oci_manifest;
    if (mt == kMediaTypeOciIndex) return ManifestKind::oci_index;
    if (mt == kMediaTypeDockerManifest) return ManifestKind::docker_manifest;
    if (mt == kMediaTypeDockerManifestList) return ManifestKind::docker_list;
    return std::nullopt;
}

std::string_view strip_params(std::string_view ct) {
    size_t semi = ct.find(';');
    if (semi != std::string_view::npos) ct = ct.substr(0, semi);
    while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t'))
        ct.remove_suffix(1);
    while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t'))
        ct.remove_prefix(1);
    return ct;
}

bool is_schema1(std::string_view mt) {
    return mt == kMediaTypeDockerSchema1 || mt == kMediaTypeDockerSchema1Signed;
}

}  // namespace

Result<ManifestKind> classify_manifest(const std::string& text, std::string_view content_type) {
    auto j = TRY(jsonr::parse(text, "manifest"));
    if (!j.is_object()) return error(ErrorKind::invalid, "manifest: expected a JSON object");
    std::string mt;
    TRY_CTX(jsonr::str(j, "mediaType", "", mt), "manifest");
    std::string_view ct = strip_params(content_type);
    if (is_schema1(mt) || is_schema1(ct) ||
        (mt.empty() && j.contains("schemaVersion") && j["schemaVersion"] == 1))
        return error(ErrorKind::invalid, "manifest: Docker schema 1 manifests are not supported");
    bool has_manifest_fields = jsonr::member(j, "config") || jsonr::member(j, "layers");
    bool has_index_fields = jsonr::member(j, "manifests") != nullptr;
    if (has_manifest_fields && has_index_fields)
        return error(ErrorKind::invalid,
                     "manifest: ambiguous document has both manifest (config/layers) and index "
                     "(manifests) fields");
    std::optional<ManifestKind> by_ct = kind_of(ct);
    std::optional<ManifestKind> kind;
    if (!mt.empty()) {
        kind = kind_of(mt);
        if (!kind) return error(ErrorKind::invalid, "manifest: unsupported mediaType '" + mt + "'");
        if (by_ct && *by_ct != *kind)
            return error(ErrorKind::invalid, "manifest: mediaType '" + mt +
                                                 "' disagrees with Content-Type '" +
                                                 std::string(ct) + "'");
    } else if (by_ct) {
        kind = by_ct;
    } else if (has_index_fields) {
        kind = ManifestKind::oci_index;
    } else if (has_manifest_fields) {
        kind = ManifestKind::oci_manifest;
    } else {
        return error(ErrorKind::invalid, "manifest: neither a manifest nor an index");
    }
    if (is_index_kind(*kind) && has_manifest_fields)
        return error(ErrorKind::invalid, std::string("manifest: index of type '") +
                                             media_type_of(*kind) +
                                             "' has manifest fields (config/layers)");
    if (!is_index_kind(*kind) && has_index_fields)
        return error(ErrorKind::invalid, std::string("manifest: manifest of type '") +
                                             media_type_of(*kind) +
                                             "' has index field 'manifests'");
    return *kind;
}

// Platforms.

namespace {

std::string normalize_arch(std::string a) {
    if (a == "x86_64" || a == "x86-64") return "amd64";
    if (a == "aarch64") return "arm64";
    if (a == "i386" || a == "i686") return "386";
    if (a == "armhf" || a == "armel") return "arm";
    return a;
}

void normalize(Platform& p) {
    p.architecture = normalize_arch(p.architecture);
    if (p.architecture == "arm64" && (p.variant == "8" || p.variant.empty())) p.variant = "v8";
    if (p.architecture == "arm" && p.variant.empty()) p.variant = "v7";
    if (p.architecture == "arm" && (p.variant == "7" || p.variant == "6" || p.variant == "5"))
        p.variant = "v" + p.variant;
}

}  // namespace

Result<Platform> parse_platform(std::string_view text) {
    Platform p;
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t slash = text.find('/', start);
        parts.emplace_back(
            text.substr(start, slash == std::string_view::npos ? slash : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    if (parts.size() < 2 || parts.size() > 3)
        return error(ErrorKind::invalid,
                     "invalid platform '" + std::string(text) + "': expected os/arch[/variant]");
    for (const auto& s : parts) {
        if (s.empty())
            return error(ErrorKind::invalid,
                         "invalid platform '" + std::string(text) + "': empty component");
        for (char c : s)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
                return error(ErrorKind::invalid,
                             "invalid platform '" + std::string(text) + "': bad character");
    }
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
    Platform n = p;
    normalize(n);
    p.architecture = n.architecture;
    if (!p.variant.empty()) p.variant = n.variant;
    return p;
}

std::string platform_string(const Platform& p) {
    std::string s = p.os + "/" + p.architecture;
    if (!p.variant.empty()) s += "/" + p.variant;
    return s;
}

std::string created_now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::tm tm;
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Platform host_platform() {
    Platform p;
    p.os = "linux";
    struct utsname u {};
    if (::uname(&u) == 0) {
        std::string m = u.machine;
        if (m == "armv7l") {
            p.architecture = "arm";
            p.variant = "v7";
        } else if (m == "armv6l") {
            p.architecture = "arm";
            p.variant = "v6";
        } else if (m == "ppc64le" || m == "s390x" || m == "riscv64" || m == "mips64") {
            p.architecture = m;
        } else {
            p.architecture = normalize_arch(m);
        }
    } else {
        p.architecture = "amd64";
    }
    return p;
}

bool platform_matches(const Platform& want, const Platform& candidate) {
    if (want.os != candidate.os) return false;
    Platform w = want, c = candidate;
    bool any_variant = want.variant.empty();
    normalize(w);
    normalize(c);
    if (w.architecture != c.architecture) return false;
    if (any_variant && w.architecture != "arm") return true;
    return w.variant == c.variant;
}

}  // namespace berth::spec

namespace berth::spec {

Result<Descriptor> select_platform_manifest(const Index& index, const Platform& want) {
    const Descriptor* best = nullptr;
    const Descriptor* unplatformed = nullptr;
    size_t n_unplatformed = 0;
    std::string offered;
    for (const auto& d : index.manifests) {
        if (auto it = d.annotations.find(kAnnotationDockerReferenceType);
            it != d.annotations.end() && it->second == "attestation-manifest")
            continue;
        if (d.media_type != kMediaTypeOciManifest && d.media_type != kMediaTypeDockerManifest)
            continue;
        if (!d.platform) {
            unplatformed = &d;
            n_unplatformed++;
            continue;
        }
        if (d.platform->os == "unknown" || d.platform->architecture == "unknown") continue;
        if (!offered.empty()) offered += ", ";
        offered += platform_string(*d.platform);
        if (!platform_matches(want, *d.platform)) continue;
        if (!best) best = &d;
        if (!want.variant.empty() && d.platform->variant == want.variant) {
            best = &d;
            break;
        }
    }
    // An index of one manifest without a platform (umoci writes these) means that manifest.
    if (!best && offered.empty() && n_unplatformed == 1) best = unplatformed;
    if (!best)
        return error(ErrorKind::not_found,
                     "no manifest for platform " + platform_string(want) + " (index has " +
                         (offered.empty() ? std::string("none") : offered) + ")");
    return *best;
}

}  // namespace berth::spec
