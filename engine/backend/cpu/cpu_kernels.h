#pragma once
// Numeric building blocks of the CPU backend (float32 throughout). Row-major matrices.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/thread_pool.h"
#include "model/model_config.h"
#include "model/model_weights.h"

// Hot loops are compiled twice (AVX2 and baseline) and picked at run time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ATTN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ATTN_CLONES
#endif

namespace attnscope::cpu {

// y[n][out] = x[n][in] · W[out][in]^T (+ bias[out] when given). W may be any DType: F32 rows are
// used in place, other types are dequantised block by block into a scratch buffer.
void linear(ThreadPool& pool, const float* x, int n, const TensorView& w, const TensorView* bias, float* y);

// Dense float GEMM used by linear and attention: C[m][n] = A[m][k] · B[n][k]^T (+ beta·C).
// lda/ldb/ldc are row strides in elements. `parallel` lets it use the pool (never from inside
// a pool task).
void gemmABt(ThreadPool* pool, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
             float beta);
// Same as gemmABt without BLAS or threads: safe inside pool tasks (attention blocks).
void gemmABtSerial(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
// C[m][n] = A[m][k] · B[k][n] (+ beta·C), single-threaded (attention P·V).
void gemmAB(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc, float beta);

float dot(const float* a, const float* b, int n);

// out[i] = x[i] / rms(x) * (w[i] or 1 + w[i]); rows of length n.
void rmsnorm(const float* x, const float* w, float* out, int n, float eps, bool addOne);

// Rotary embedding in place on one head vector of length headDim, first ropeDim dims rotated,
// using one row of a rotary table (model/rope.h): cs = [ropeDim/2][2] (cos, sin).
void rope(float* x, const float* cs, int ropeDim, RopeLayout layout);

float silu(float x);
float geluTanh(float x);

// Is an optimised BLAS in use (loaded at run time; see blas_loader.h)? blasName() describes it.
bool haveBlas();
std::string blasName();
void setBlasThreads(int threads);

}  // namespace attnscope::cpu
