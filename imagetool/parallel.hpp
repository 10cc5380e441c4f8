// One worker pool for the blob transfers of pull, push and copy.
#pragma once

#include <cstddef>
#include <functional>

#include "base/result.hpp"

namespace berth::image {

// Runs work(i) for i in [0, n) on up to `jobs` threads (the caller's thread is one of them).
// Items are taken in order; the first failure stops the others from starting new items and
// is returned once every running item has finished. work must be safe to call concurrently.
Status run_parallel(size_t n, int jobs, const std::function<Status(size_t)>& work);

}  // namespace berth::image
