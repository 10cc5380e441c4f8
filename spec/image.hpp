// OCI image-spec 1.1 types (descriptor, manifest, index, image config, layout) and Docker
// schema2 equivalents, with strict reading (JSON-path errors) and faithful writing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace berth::spec {

// Media types.
inline constexpr const char* kMediaTypeOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kMediaTypeOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kMediaTypeOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kMediaTypeOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kMediaTypeOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kMediaTypeOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kMediaTypeOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr const char* kMediaTypeOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr const char* kMediaTypeOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr const char* kMediaTypeOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr const char* kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kMediaTypeDockerConfig =
    "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kMediaTypeDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kMediaTypeDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Schema 1 is refused (signed, no content addressing of config); named for the error message.
inline constexpr const char* kMediaTypeDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kMediaTypeDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// Annotations.
inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr const char* kAnnotationCreated = "org.opencontainers.image.created";
// BuildKit marks attestation manifests in an index with this annotation.
inline constexpr const char* kAnnotationDockerReferenceType = "vnd.docker.reference.type";

inline constexpr const char* kImageLayoutVersion = "1.0.0";

// Layer compression, from the media type.
enum class Compression { none, gzip, zstd, unknown };
Compression layer_compression(std::string_view media_type);
bool is_layer_media_type(std::string_view media_type);

// A content digest "algorithm:hex". Only sha256 (64 lowercase hex) and sha512 (128) are
// accepted: anything else could not be verified.
struct Digest {
    std::string algorithm;  // "sha256"
    std::string hex;

    static Result<Digest> parse(std::string_view text);
    std::string str() const { return algorithm + ":" + hex; }
    bool empty() const { return hex.empty(); }
    bool operator==(const Digest&) const = default;
    auto operator<=>(const Digest&) const = default;
};

struct Platform {
    std::string architecture;  // amd64, arm64, ...
    std::string os;            // linux
    std::string os_version;
    std::vector<std::string> os_features;
    std::string variant;  // v7, v8
    std::vector<std::string> features;
};

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    std::optional<Platform> platform;
    std::string artifact_type;
    std::optional<std::string> data;  // base64, kept as given
};

// An image manifest: OCI (mediaType optional) or Docker schema2 (mediaType required).
struct Manifest {
    int schema_version = 2;
    std::string media_type;  // as written in the document ("" when absent)
    std::string artifact_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;
};

// An image index (OCI) or manifest list (Docker).
struct Index {
    int schema_version = 2;
    std::string media_type;
    std::string artifact_type;
    std::vector<Descriptor> manifests;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;
};

// The execution parameters of an image config ("config" member), Docker's spelling.
struct ContainerConfig {
    std::string user;
    std::vector<std::string> exposed_ports;  // keys of ExposedPorts: "80/tcp"
    std::vector<std::string> env;
    std::optional<std::vector<std::string>> entrypoint;
    std::optional<std::vector<std::string>> cmd;
    std::vector<std::string> volumes;  // keys of Volumes
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<bool> args_escaped;
    std::optional<std::vector<std::string>> shell;     // Docker extension
    std::optional<nlohmann::json> healthcheck;         // Docker extension, kept as is
    std::optional<std::vector<std::string>> on_build;  // Docker extension
};

struct RootFS {
    std::string type = "layers";
    std::vector<Digest> diff_ids;
};

struct History {
    std::string created;
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;
};

struct ImageConfig {
    std::string created;
    std::string author;
    std::string architecture;
    std::string os;
    std::string os_version;
    std::vector<std::string> os_features;
    std::string variant;
    std::optional<ContainerConfig> config;
    RootFS rootfs;
    std::vector<History> history;
};

struct Layout {
    std::string image_layout_version = kImageLayoutVersion;
};

// What a fetched manifest document is.
enum class ManifestKind { oci_manifest, oci_index, docker_manifest, docker_list };
const char* media_type_of(ManifestKind k);
bool is_index_kind(ManifestKind k);

// Decides what a manifest document is from its mediaType member and the Content-Type the
// registry sent ("" when unknown, e.g. from a store). Refuses schema 1, unknown types, a
// mediaType that disagrees with the Content-Type, and documents carrying both manifest
// fields (config/layers) and index fields (manifests): such a document could be read two
// ways, which is the confusion CVE-2021-41190 describes.
Result<ManifestKind> classify_manifest(const std::string& json_text, std::string_view content_type);

// Strict readers. Errors carry the JSON path: "layers[1].digest: invalid digest 'x'".
Result<Descriptor> parse_descriptor(const std::string& json_text);
Result<Manifest> parse_manifest(const std::string& json_text);
Result<Index> parse_index(const std::string& json_text);
Result<ImageConfig> parse_image_config(const std::string& json_text);
Result<Layout> parse_layout(const std::string& json_text);
Result<Platform> parse_platform_json(const std::string& json_text);

// Writers (optional and empty fields omitted, as the Go implementations do).
nlohmann::json to_json(const Descriptor& d);
nlohmann::json to_json(const Platform& p);
nlohmann::json to_json(const Manifest& m);
nlohmann::json to_json(const Index& i);
nlohmann::json to_json(const ImageConfig& c);
nlohmann::json to_json(const ContainerConfig& c);
nlohmann::json to_json(const Layout& l);

// "os/arch[/variant]" as --platform takes it; "linux/arm64/v8". Normalises arch aliases
// (x86_64 -> amd64, aarch64 -> arm64) and arm64's default variant the way containerd does.
Result<Platform> parse_platform(std::string_view text);
std::string platform_string(const Platform& p);
// The platform this program runs on (linux/<GOARCH>[/<variant>]).
Platform host_platform();

// The time for an image config's "created" and its history entries: UTC, whole seconds
// ("2026-12-02T10:00:00Z").
std::string created_now();
// True when `candidate` (from an index) serves `want`; variant compared after normalisation.
bool platform_matches(const Platform& want, const Platform& candidate);

// Chooses the manifest for a platform from an index: skips attestation manifests
// (vnd.docker.reference.type, unknown/unknown), prefers an exact variant match. Errors list
// the platforms the index offers.
Result<Descriptor> select_platform_manifest(const Index& index, const Platform& want);

}  // namespace berth::spec
