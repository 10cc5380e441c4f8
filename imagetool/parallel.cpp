// run_parallel: a bounded pool of threads over an index range.
#include "imagetool/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace berth::image {

Status run_parallel(size_t n, int jobs, const std::function<Status(size_t)>& work) {
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::optional<Error> first;
    auto worker = [&] {
        while (!stop.load()) {
            size_t i = next++;
            if (i >= n) return;
            if (auto st = work(i); !st) {
                std::lock_guard<std::mutex> g(mu);
                if (!first) first = std::move(st).error();
                stop = true;
            }
        }
    };
    size_t threads_wanted = std::min<size_t>(size_t(std::max(1, jobs)), std::max<size_t>(n, 1));
    std::vector<std::thread> threads;
    for (size_t j = 1; j < threads_wanted; j++)
        threads.emplace_back(worker);
    worker();
    for (auto& t : threads)
        t.join();
    if (first) return *first;
    return ok();
}

}  // namespace berth::image
