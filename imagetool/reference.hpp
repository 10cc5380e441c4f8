// Image references: "[registry[:port]/]path[:tag][@sha256:digest]", normalised as Docker does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spec/image.hpp"

namespace berth::image {

inline constexpr const char* kDefaultRegistry = "docker.io";
inline constexpr const char* kDefaultTag = "latest";

struct Reference {
    std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
    std::string repository;  // "library/alpine"
    std::string tag;         // "latest"; empty only when a digest pins the image
    std::optional<spec::Digest> digest;

    // Parses and normalises: no registry -> docker.io, one component on docker.io ->
    // library/, "latest" when neither tag nor digest is given. The first component is a
    // registry when it is "localhost" or contains '.' or ':' (or an upper-case letter).
    // Refuses bad names, tags and digests with a message naming the reference.
    static Result<Reference> parse(std::string_view text);

    std::string name() const;  // "docker.io/library/alpine"
    std::string str() const;   // "docker.io/library/alpine:latest[@sha256:...]"
    // The host:port to talk to: docker.io is served by registry-1.docker.io.
    std::string api_host() const;
    // What to ask the registry for: the digest if pinned, else the tag.
    std::string api_reference() const;
    bool operator==(const Reference&) const = default;
};

// A registry name as `login` takes it ("docker.io", "https://index.docker.io/v1/",
// "localhost:5000"): normalised to the host[:port] used as the auth.json key.
Result<std::string> normalize_registry(std::string_view text);
// True for localhost, 127.0.0.0/8 and ::1 (with or without port): where podman allows plain
// HTTP without being asked.
bool is_loopback_registry(std::string_view host_port);
// Host part of "host:port" / "[v6]:port".
std::string registry_host(std::string_view host_port);

}  // namespace berth::image
