#pragma once
// ATTN_HOST_DEVICE marks the few inline rules that both host code and the CUDA kernels compile
// (plan/visibility.h, analysis/online_stats.h): __host__ __device__ under nvcc, nothing
// elsewhere (the CPU emulator of the kernels compiles them as plain C++).
#if defined(__CUDACC__)
#define ATTN_HOST_DEVICE __host__ __device__
#else
#define ATTN_HOST_DEVICE
#endif
