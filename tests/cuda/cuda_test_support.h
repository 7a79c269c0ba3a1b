#pragma once
// Helpers shared by the CUDA tests: device buffers, the GPU check that turns "no GPU here" into a
// skip (a failure under ATTNSCOPE_REQUIRE_GPU=1, require_gpu.h), and comparisons with
// tolerances. The same test sources build against the real CUDA runtime (cuda.*) and against the
// CPU emulator (cuda.*_emulated, ATTNSCOPE_CUDA_EMULATION).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/cuda_compat.h"
#include "require_gpu.h"

namespace attnscope::cuda::test {

// Empty when a CUDA device is usable, else why not (as the skip or failure message).
inline std::string gpuUnavailableReason() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        std::string why = std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
        if (e == cudaErrorInsufficientDriver) {
            int driver = 0, runtime = 0;
            (void)cudaDriverGetVersion(&driver);
            (void)cudaRuntimeGetVersion(&runtime);
            why += driver == 0 ? std::string("; no NVIDIA driver found")
                               : "; the driver supports CUDA " + std::to_string(driver / 1000) + "." +
                                     std::to_string(driver % 1000 / 10);
            why += ", this build needs CUDA " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
                   " (CUDA 13 needs driver 580 or newer)";
        }
        return why;
    }
    if (n <= 0) return "no CUDA device";
    return {};
}

// Skips (or, under ATTNSCOPE_REQUIRE_GPU=1, fails) the test when no CUDA device is usable.
#define ATTN_REQUIRE_GPU() ATTN_CUDA_SKIP_UNLESS(::attnscope::cuda::test::gpuUnavailableReason())

#define ATTN_CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr << ": " << cudaGetErrorString(cudaGetLastError())

// A device copy of a host vector (or of raw bytes).
class DeviceBytes {
public:
    DeviceBytes() = default;
    explicit DeviceBytes(std::size_t bytes) { allocate(bytes); }
    template <typename T>
    explicit DeviceBytes(const std::vector<T>& host) {
        allocate(host.size() * sizeof(T));
        if (!host.empty() && p_) cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
    }
    DeviceBytes(const DeviceBytes&) = delete;
    DeviceBytes& operator=(const DeviceBytes&) = delete;
    DeviceBytes(DeviceBytes&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; o.bytes_ = 0; }
    DeviceBytes& operator=(DeviceBytes&& o) noexcept {
        if (this != &o) {
            cudaFree(p_);
            p_ = o.p_;
            bytes_ = o.bytes_;
            o.p_ = nullptr;
            o.bytes_ = 0;
        }
        return *this;
    }
    ~DeviceBytes() { cudaFree(p_); }

    template <typename T = void>
    T* get() const { return static_cast<T*>(p_); }
    std::size_t size() const { return bytes_; }
    template <typename T>
    std::vector<T> download() const {
        std::vector<T> out(bytes_ / sizeof(T));
        if (!out.empty()) cudaMemcpy(out.data(), p_, out.size() * sizeof(T), cudaMemcpyDeviceToHost);
        return out;
    }
    void zero() {
        if (bytes_) cudaMemset(p_, 0, bytes_);
    }

private:
    void allocate(std::size_t bytes) {
        bytes_ = bytes;
        if (cudaMalloc(&p_, bytes ? bytes : 1) != cudaSuccess) p_ = nullptr;
    }
    void* p_ = nullptr;
    std::size_t bytes_ = 0;
};

// |a - b| <= abs + rel · |b| for every element (NaN must match NaN).
inline ::testing::AssertionResult allClose(const std::vector<float>& got, const std::vector<float>& want, double abs,
                                           double rel, const std::string& what) {
    if (got.size() != want.size())
        return ::testing::AssertionFailure() << what << ": size " << got.size() << " vs " << want.size();
    std::size_t bad = 0, first = 0;
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double g = got[i], w = want[i];
        if (std::isnan(g) && std::isnan(w)) continue;
        const double err = std::fabs(g - w);
        if (!(err <= abs + rel * std::fabs(w))) {
            if (bad == 0) first = i;
            ++bad;
        }
        if (err > worst || std::isnan(err)) worst = std::isnan(err) ? INFINITY : err;
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": " << bad << " of " << got.size() << " differ; first at " << first
                                         << " (" << got[first] << " vs " << want[first] << "), worst |error| " << worst;
}

}  // namespace attnscope::cuda::test
