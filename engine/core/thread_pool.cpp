#include "core/thread_pool.h"

#include <algorithm>

namespace attnscope {

int maxThreads() {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::clamp(4 * cores, 16, 1024);
}

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::min(threads, maxThreads());
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
}

bool ThreadPool::runOne() {
    std::size_t begin, end;
    const std::function<void(std::size_t, std::size_t)>* fn;
    {
        std::lock_guard lock(mu_);
        if (!fn_ || next_ >= n_) return false;
        begin = next_;
        end = std::min(n_, begin + grain_);
        next_ = end;
        fn = fn_;
    }
    (*fn)(begin, end);
    {
        std::lock_guard lock(mu_);
        pending_ -= end - begin;
        if (pending_ == 0) doneCv_.notify_all();
    }
    return true;
}

void ThreadPool::workerLoop() {
    std::size_t seen = 0;
    while (true) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || (fn_ && generation_ != seen && next_ < n_); });
            if (stop_) return;
            seen = generation_;
        }
        while (runOne()) {}
    }
}

void ThreadPool::parallelFor(std::size_t n, std::size_t grain,
                             const std::function<void(std::size_t, std::size_t)>& fn) {
    if (n == 0) return;
    grain = std::max<std::size_t>(1, grain);
    if (workers_.empty() || n <= grain) {
        fn(0, n);
        return;
    }
    std::lock_guard callLock(callMu_);
    {
        std::lock_guard lock(mu_);
        fn_ = &fn;
        n_ = n;
        grain_ = grain;
        next_ = 0;
        pending_ = n;
        ++generation_;
    }
    cv_.notify_all();
    while (runOne()) {}
    std::unique_lock lock(mu_);
    doneCv_.wait(lock, [&] { return pending_ == 0; });
    fn_ = nullptr;
}

}  // namespace attnscope
