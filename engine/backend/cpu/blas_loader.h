#pragma once
// OpenBLAS, loaded at run time (dlopen) rather than linked: the engine builds with nothing but
// a compiler, and runs without BLAS (built-in kernels) where none is installed.
//
// Before loading, when OPENBLAS_CORETYPE is unset and the processor has AVX2 + FMA, it is set
// to "Haswell": OpenBLAS builds that do not recognise a newer processor otherwise fall back to
// their SSE3 "Prescott" kernels, 3–4× slower. ATTNSCOPE_GEMM=builtin skips BLAS entirely.
#include <string>

namespace attnscope::cpu {

struct Blas {
    // C = alpha·op(A)·op(B) + beta·C, row-major (CBLAS enums as ints: RowMajor 101,
    // NoTrans 111, Trans 112).
    void (*sgemm)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) = nullptr;
    void (*setThreads)(int) = nullptr;
    char* (*coreName)() = nullptr;
    std::string library;  // what was loaded
    std::string core;     // OpenBLAS kernel family, e.g. "Haswell"
};

// The process-wide BLAS, or null when unavailable or disabled. Thread-safe, loads once.
const Blas* blas();

}  // namespace attnscope::cpu
