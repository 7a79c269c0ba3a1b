#pragma once
// A small CUDA emulator for tests on machines without a GPU. It provides the subset of the
// CUDA runtime, cuBLAS and device built-ins that engine/backend/cuda uses, so the same kernel
// and backend sources compile as plain C++ (ATTNSCOPE_CUDA_EMULATION) and run on the CPU.
//
// Execution model: blocks run one after another; the threads of a block run as fibers on the
// calling thread and switch only at barriers (__syncthreads, __syncthreads_or/and, __syncwarp).
// Shared memory is per block (dynamic shared memory is filled with 0xFF bytes at block start, so
// reading it before writing gives NaN). A barrier that not every thread of its group reaches is
// reported as a deadlock and aborts. Device memory is host memory tracked by allocation, so
// copies and GEMM operands are bounds-checked; a limit makes cudaMalloc fail like a full GPU.
// Launches must come from one thread at a time.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <math.h>

// ---------------------------------------------------------------------------------------------
// Language keywords
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
    unsigned x = 0, y = 0, z = 0;
};
struct alignas(16) float4 {
    float x, y, z, w;
};

// Built-in variables of the running fiber (restored by the emulator at every switch).
extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

void __syncthreads();
int __syncthreads_or(int predicate);
int __syncthreads_and(int predicate);
void __syncwarp(unsigned mask = 0xffffffffu);
// Butterfly exchange within a warp (full mask only): each lane publishes its value to the warp's
// scratch, the warp meets at a barrier, each lane reads lane ^ laneMask, and the warp meets again.
float __shfl_xor_sync(unsigned mask, float v, int laneMask, int width = 32);
int __shfl_xor_sync(unsigned mask, int v, int laneMask, int width = 32);

inline float atomicAdd(float* address, float v) { float old = *address; *address = old + v; return old; }
inline int atomicAdd(int* address, int v) { int old = *address; *address = old + v; return old; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

// ---------------------------------------------------------------------------------------------
// 16-bit float types (bit-exact round-to-nearest-even conversions)
struct __half { std::uint16_t bits = 0; };
struct __nv_bfloat16 { std::uint16_t bits = 0; };
float __half2float(__half h);
__half __float2half_rn(float f);
float __bfloat162float(__nv_bfloat16 h);
__nv_bfloat16 __float2bfloat16_rn(float f);
inline unsigned short __half_as_ushort(__half h) { return h.bits; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.bits; }

namespace emu {
float halfBitsToFloat(std::uint16_t bits);
void* dynamicShared();
// Scratch of the running thread's warp (kWarpScratchWords words, unspecified contents), for
// emulating warp-wide exchanges: shuffles and the tensor-core mma of attention_mma.cu.
constexpr int kWarpScratchWords = 512;
std::uint32_t* warpScratch();
// Runs body once per thread of every block. `kernel` identifies the function for attributes.
void launch(const void* kernel, dim3 grid, dim3 block, std::size_t sharedBytes, const std::function<void()>& body);
inline void launch(dim3 grid, dim3 block, std::size_t sharedBytes, const std::function<void()>& body) {
    launch(nullptr, grid, block, sharedBytes, body);
}
// Device memory limit for cudaMalloc (default 8 GiB) and what is allocated now.
void setDeviceMemoryLimit(std::size_t bytes);
std::size_t deviceMemoryInUse();
// 0 makes cudaGetDeviceCount report "no device" (to test the fallback paths).
void setDeviceCount(int n);
// Number of kernel launches so far (tests check that work was skipped or done).
std::uint64_t launchCount();
// Number of block-wide barriers (__syncthreads, __syncthreads_or/and) completed so far, counted
// once per block: tests check that a kernel does not walk tiles it has no use for.
std::uint64_t blockBarrierCount();
}  // namespace emu

// ---------------------------------------------------------------------------------------------
// Runtime API subset
#define CUDART_VERSION 13000
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
constexpr unsigned cudaStreamNonBlocking = 1;
struct CUstream_st;
using cudaStream_t = CUstream_st*;

struct cudaDeviceProp {
    char name[256] = {};
    std::size_t totalGlobalMem = 0;
    std::size_t sharedMemPerBlock = 0;
    std::size_t sharedMemPerBlockOptin = 0;
    int multiProcessorCount = 0;
    int maxThreadsPerBlock = 0;
    int major = 0, minor = 0;
};

const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaMemGetInfo(std::size_t* freeBytes, std::size_t* totalBytes);
cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t emuFuncSetAttribute(const void* fn, cudaFuncAttribute attr, int value);
template <typename F>
cudaError_t cudaFuncSetAttribute(F* fn, cudaFuncAttribute attr, int value) {
    return emuFuncSetAttribute(reinterpret_cast<const void*>(fn), attr, value);
}

// ---------------------------------------------------------------------------------------------
// cuBLAS subset (column-major, as the real library)
enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
using cudaDataType_t = cudaDataType;
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_PEDANTIC = 69 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
struct cublasContext;
using cublasHandle_t = cublasContext*;

cublasStatus_t cublasCreate(cublasHandle_t* handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
const char* cublasGetStatusString(cublasStatus_t s);
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo);
