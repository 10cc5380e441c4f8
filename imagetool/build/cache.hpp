// The build cache (issue 18): one entry per completed step, keyed by the image so far and what
// the step does after substitution, so that a rebuild reuses the step's layer and history entry
// instead of running RUN or COPY again.
//
// On disk, inside the store (docs/build.md, "Layer cache"):
//   <store>/.berth/build-cache/<hex>.json   one entry; <hex> is the step's key
//   <store>/.berth/build-cache/files-<hex>  the file digests of one COPY's sources (a memo:
//                                           unchanged files are not read again)
// An entry is written to a temporary name and renamed, so a reader sees all of it or nothing;
// two builds recording the same step write the same content. The layer blobs entries name are
// kept by `berth-image gc` until `gc --build-cache` drops the entries.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "base/result.hpp"
#include "imagetool/build/copy.hpp"
#include "imagetool/store/store.hpp"
#include "spec/image.hpp"

namespace berth::image::build {

struct CacheEntry {
    spec::History history;                  // the step's history entry, `created` included
    std::optional<spec::Descriptor> layer;  // the layer blob of a RUN/COPY/ADD step
    std::optional<spec::Digest> diff_id;    // and its DiffID
};

// The key of a step: sha256 over the image config so far without `created` (its diff_ids,
// history with timestamps, env, user, workdir: everything a step can depend on in the image)
// and `step`, the builder's description of the step after substitution.
std::string cache_key(const spec::ImageConfig& parent, const std::string& step);

std::string build_cache_dir(const Store& store);

// nullopt: no entry. An error: an entry exists but cannot be used (not JSON, not the entry of
// this key, a layer blob missing or of the wrong size); the caller warns and runs the step.
Result<std::optional<CacheEntry>> cache_lookup(const Store& store, const std::string& key);

// Writes the entry atomically (temporary name, fsync, rename).
Status cache_record(const Store& store, const std::string& key, const CacheEntry& entry);

// A digest of what a COPY reads from the context: for each source its name and, below it,
// every entry's path, type, mode, size and content digest (regular files) or target
// (symlinks), in name order. Owners are left out (COPY sets them: --chown is in the step), and
// so are mtimes: a touched but unchanged file still hits, as in Docker (the layer keeps the
// old mtime). Fails where copy_into would fail (missing source, outside the context); the
// step is then not cached and copy_into reports the error.
//
// With `memo_file`, the content digests of the last walk are reused for files whose device,
// inode, size, mtime and ctime are unchanged (those files are not read), and the file is
// rewritten for the next build; files changed in the last seconds are always read.
Result<std::string> copy_sources_digest(int context_fd, const CopySpec& spec,
                                        const std::string& memo_file = {});

// Where copy_sources_digest keeps the file digests of one COPY's sources from one context.
std::string copy_memo_file(const Store& store, const std::string& context, const CopySpec& spec);

// For gc, with the store's exclusive lock held: adds the layer blobs of readable entries to
// `live` and removes temporary files a crashed build left in the cache directory.
Status cache_live_blobs(const Store& store, std::set<spec::Digest>& live);

// Removes every entry (gc --build-cache), with the exclusive lock held; returns how many.
Result<size_t> clear_build_cache(const Store& store);

}  // namespace berth::image::build
