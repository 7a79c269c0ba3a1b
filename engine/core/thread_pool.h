#pragma once
// Fixed pool of worker threads with a blocking parallel_for. The calling thread takes part,
// so a pool of N threads keeps N cores busy (N-1 workers + the caller).
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attnscope {

// The most threads a pool takes: 4 per core (at least 16, at most 1024). More only adds
// switching; a pool asked for more is given this many.
int maxThreads();

class ThreadPool {
public:
    explicit ThreadPool(int threads = 0);  // 0 = hardware concurrency; at most maxThreads()
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(begin, end) over [0, n) split into contiguous ranges of about `grain` items;
    // returns when all ranges are done. Not re-entrant: do not call from inside fn.
    void parallelFor(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn);

private:
    void workerLoop();
    bool runOne();  // take and run one range of the current job; false when none left

    std::vector<std::thread> workers_;
    std::mutex mu_;
    std::condition_variable cv_, doneCv_;
    const std::function<void(std::size_t, std::size_t)>* fn_ = nullptr;
    std::size_t n_ = 0, grain_ = 1, next_ = 0, pending_ = 0;
    std::size_t generation_ = 0;
    bool stop_ = false;
    std::mutex callMu_;  // serialises concurrent parallelFor callers
};

}  // namespace attnscope
