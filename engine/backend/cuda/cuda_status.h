#pragma once
// CUDA and cuBLAS failures as Error values (kind Backend) naming the call, the file and the line;
// never exit() or abort(). Out-of-memory reads "CUDA out of memory" so users know what to change.
#include <cstring>
#include <string>

#include "backend/cuda/cuda_compat.h"
#include "core/error.h"

namespace attnscope::cuda {

inline const char* sourceBaseName(const char* path) {
    const char* s = std::strrchr(path, '/');
    return s ? s + 1 : path;
}

inline Error cudaFailure(cudaError_t e, const char* call, const char* file, int line) {
    std::string msg = e == cudaErrorMemoryAllocation ? "CUDA out of memory" : "CUDA error";
    msg += std::string(" (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ") in " + call + " at " +
           sourceBaseName(file) + ":" + std::to_string(line);
    return makeError(ErrorKind::Backend, std::move(msg));
}

inline Error cublasFailure(cublasStatus_t s, const char* call, const char* file, int line) {
    return makeError(ErrorKind::Backend, std::string("cuBLAS error (") + cublasGetStatusString(s) + ") in " + call +
                                             " at " + sourceBaseName(file) + ":" + std::to_string(line));
}

}  // namespace attnscope::cuda

// Return an Error from the enclosing function (returning Result<...>) when a call fails.
#define CU_TRY(expr)                                                                     \
    do {                                                                                 \
        const cudaError_t cu_try_e_ = (expr);                                            \
        if (cu_try_e_ != cudaSuccess) {                                                  \
            (void)cudaGetLastError();                                                    \
            return ::attnscope::cuda::cudaFailure(cu_try_e_, #expr, __FILE__, __LINE__); \
        }                                                                                \
    } while (0)

#define CUBLAS_TRY(expr)                                                                       \
    do {                                                                                       \
        const cublasStatus_t cublas_try_s_ = (expr);                                           \
        if (cublas_try_s_ != CUBLAS_STATUS_SUCCESS)                                            \
            return ::attnscope::cuda::cublasFailure(cublas_try_s_, #expr, __FILE__, __LINE__); \
    } while (0)
