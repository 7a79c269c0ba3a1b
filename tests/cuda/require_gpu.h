#pragma once
// What a CUDA test does when it cannot run here (no device, a driver too old for the toolkit, a
// plugin that does not load or was built differently, a missing golden model): it skips with the
// reason, so that machines without a GPU stay green. With ATTNSCOPE_REQUIRE_GPU=1 (set by
// tools/gpu-check.sh on the GPU machine) the same reason is a failure instead: there, a skip
// would be a false green. Plain C++ (no CUDA headers), for the kernel and the plugin tests alike.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace attnscope::cuda::test {

// ATTNSCOPE_REQUIRE_GPU is set to anything but "" or "0".
inline bool gpuRequired() {
    const char* v = std::getenv("ATTNSCOPE_REQUIRE_GPU");
    return v && *v && std::string(v) != "0";
}

}  // namespace attnscope::cuda::test

// Skips the test (or fails it under ATTNSCOPE_REQUIRE_GPU=1) when `reason` is not empty.
#define ATTN_CUDA_SKIP_UNLESS(reason)                                                                  \
    do {                                                                                               \
        const std::string attn_why_ = (reason);                                                        \
        if (attn_why_.empty()) break;                                                                  \
        if (::attnscope::cuda::test::gpuRequired()) {                                                  \
            ADD_FAILURE() << "CUDA test cannot run, and ATTNSCOPE_REQUIRE_GPU=1 forbids a skip: " << attn_why_; \
            return;                                                                                    \
        }                                                                                              \
        GTEST_SKIP() << "CUDA test skipped: " << attn_why_;                                            \
    } while (0)
