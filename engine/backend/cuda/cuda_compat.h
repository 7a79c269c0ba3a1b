#pragma once
// Everything the CUDA sources take from CUDA, in one place. With ATTNSCOPE_CUDA_EMULATION the
// same kernel and backend sources compile as plain C++ against the test-only emulator
// (tests/cuda/emu), which runs every CUDA thread of a block as a fiber on the CPU; that is how
// the kernels are exercised on machines without a GPU. Kernels therefore use only what is
// declared here and what the emulator provides: warp-wide reductions go through shared memory
// and __syncwarp, or __shfl_xor_sync with a full mask; no intrinsics beyond the conversions below
// and their bit casts (__half_as_ushort, __bfloat16_as_ushort).
#include <cstddef>
#include <cstdint>

#if defined(ATTNSCOPE_CUDA_EMULATION)
#include "cuda_emu.h"
#else
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#endif

namespace attnscope::cuda {

using bf16 = __nv_bfloat16;
using f16 = __half;

// Element type of activations and weights fed to the GEMMs (and of the kept Q/K/V).
enum class ElemType { F32, F16, BF16 };

inline std::size_t elemSize(ElemType t) { return t == ElemType::F32 ? 4 : 2; }
inline const char* elemName(ElemType t) { return t == ElemType::F32 ? "f32" : t == ElemType::F16 ? "f16" : "bf16"; }

// Device helpers: only where device code is compiled (nvcc, or the emulator). Plain host
// translation units (tests, the plugin entry) see the types above and the launchers only.
#if defined(__CUDACC__) || defined(ATTNSCOPE_CUDA_EMULATION)

#if defined(ATTNSCOPE_CUDA_EMULATION)
#define ATTN_DEV inline
#else
#define ATTN_DEV __device__ __forceinline__
#endif

// Loads and stores between the storage types and float (round to nearest even).
ATTN_DEV float ld(const float* p) { return *p; }
ATTN_DEV float ld(const f16* p) { return __half2float(*p); }
ATTN_DEV float ld(const bf16* p) { return __bfloat162float(*p); }
ATTN_DEV void st(float* p, float v) { *p = v; }
ATTN_DEV void st(f16* p, float v) { *p = __float2half_rn(v); }
ATTN_DEV void st(bf16* p, float v) { *p = __float2bfloat16_rn(v); }

// IEEE half bits → float (GGUF block scales).
ATTN_DEV float halfBitsToFloat(std::uint16_t bits) {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    return emu::halfBitsToFloat(bits);
#else
    return __half2float(__ushort_as_half(bits));
#endif
}

// Dynamic shared memory of the running block, as T.
template <typename T>
ATTN_DEV T* dynamicShared() {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    return reinterpret_cast<T*>(emu::dynamicShared());
#else
    extern __shared__ float4 attnscope_dynamic_smem[];
    return reinterpret_cast<T*>(attnscope_dynamic_smem);
#endif
}

ATTN_DEV int imin(int a, int b) { return a < b ? a : b; }
ATTN_DEV int imax(int a, int b) { return a > b ? a : b; }

// atomicMax for non-negative floats (their bit patterns order like the values).
ATTN_DEV void atomicMaxNonNegative(float* addr, float v) {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    if (v > *addr) *addr = v;  // fibers of the emulator never interleave inside a statement
#else
    atomicMax(reinterpret_cast<int*>(addr), __float_as_int(v));
#endif
}

#endif  // __CUDACC__ || ATTNSCOPE_CUDA_EMULATION

}  // namespace attnscope::cuda

// Kernel launch. `kernel` must be a plain name (take a pointer to a template instance first).
#if defined(ATTNSCOPE_CUDA_EMULATION)
#define ATTN_LAUNCH(kernel, grid, block, smem, stream, ...)                                                          \
    do {                                                                                                             \
        (void)(stream);                                                                                              \
        ::emu::launch(reinterpret_cast<const void*>(kernel), (grid), (block), (smem), [&] { kernel(__VA_ARGS__); }); \
    } while (0)
#else
#define ATTN_LAUNCH(kernel, grid, block, smem, stream, ...) kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#endif
