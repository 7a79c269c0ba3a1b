#include "backend/cpu/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/blas_loader.h"

namespace attnscope::cpu {

bool haveBlas() { return blas() != nullptr; }

std::string blasName() {
    const Blas* b = blas();
    if (!b) return {};
    return "OpenBLAS" + (b->core.empty() ? std::string() : " " + b->core);
}

void setBlasThreads(int threads) {
    if (const Blas* b = blas(); b && b->setThreads) b->setThreads(threads);
}

ATTN_CLONES float dot(const float* a, const float* b, int n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
        s4 += a[i + 4] * b[i + 4];
        s5 += a[i + 5] * b[i + 5];
        s6 += a[i + 6] * b[i + 6];
        s7 += a[i + 7] * b[i + 7];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
}

namespace {

// 4×4 micro-kernel of dot products: c[r][s] = a_r · b_s.
ATTN_CLONES void dot4x4(const float* a, int lda, const float* b, int ldb, int k, float* out /*[4][4]*/) {
    float acc[4][4][8] = {};
    int i = 0;
    for (; i + 8 <= k; i += 8)
        for (int r = 0; r < 4; ++r)
            for (int s = 0; s < 4; ++s)
                for (int v = 0; v < 8; ++v) acc[r][s][v] += a[r * lda + i + v] * b[s * ldb + i + v];
    for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 4; ++s) {
            float t = 0;
            for (int v = 0; v < 8; ++v) t += acc[r][s][v];
            for (int j = i; j < k; ++j) t += a[r * lda + j] * b[s * ldb + j];
            out[r * 4 + s] = t;
        }
}

void gemmABtRows(int m0, int m1, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                 float beta) {
    float tile[16];
    int m = m0;
    for (; m + 4 <= m1; m += 4) {
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            dot4x4(a + static_cast<std::size_t>(m) * lda, lda, b + static_cast<std::size_t>(j) * ldb, ldb, k, tile);
            for (int r = 0; r < 4; ++r)
                for (int s = 0; s < 4; ++s) {
                    float& dst = c[static_cast<std::size_t>(m + r) * ldc + j + s];
                    dst = tile[r * 4 + s] + (beta != 0 ? beta * dst : 0.0f);
                }
        }
        for (; j < n; ++j)
            for (int r = 0; r < 4; ++r) {
                float& dst = c[static_cast<std::size_t>(m + r) * ldc + j];
                float v = dot(a + static_cast<std::size_t>(m + r) * lda, b + static_cast<std::size_t>(j) * ldb, k);
                dst = v + (beta != 0 ? beta * dst : 0.0f);
            }
    }
    for (; m < m1; ++m)
        for (int j = 0; j < n; ++j) {
            float& dst = c[static_cast<std::size_t>(m) * ldc + j];
            float v = dot(a + static_cast<std::size_t>(m) * lda, b + static_cast<std::size_t>(j) * ldb, k);
            dst = v + (beta != 0 ? beta * dst : 0.0f);
        }
}

}  // namespace

void gemmABtSerial(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
    gemmABtRows(0, m, n, k, a, lda, b, ldb, c, ldc, 0.0f);
}

void gemmABt(ThreadPool* pool, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
             float beta) {
    if (m <= 0 || n <= 0) return;
    if (const Blas* bl = blas()) {
        // BLAS runs single-threaded (setBlasThreads(1)); we split the output columns over our
        // own pool, so BLAS worker threads never spin against the attention threads.
        const int parts = pool ? std::min(pool->size(), std::max(1, n / 64)) : 1;
        if (parts <= 1 || static_cast<long long>(m) * n * k < (1LL << 20)) {
            bl->sgemm(101 /*RowMajor*/, 111 /*NoTrans*/, 112 /*Trans*/, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        const int step = ((n + parts - 1) / parts + 15) / 16 * 16;
        pool->parallelFor(static_cast<std::size_t>((n + step - 1) / step), 1, [&](std::size_t p0, std::size_t p1) {
            for (std::size_t p = p0; p < p1; ++p) {
                const int j0 = static_cast<int>(p) * step, j1 = std::min(n, j0 + step);
                bl->sgemm(101, 111, 112, m, j1 - j0, k, 1.0f, a, lda, b + static_cast<std::size_t>(j0) * ldb, ldb, beta,
                          c + j0, ldc);
            }
        });
        return;
    }
    if (pool && static_cast<long long>(m) * n * k > (1 << 18)) {
        // Split over output columns (weight rows) so each task streams its own slice of B.
        const int block = 64;
        int nb = (n + block - 1) / block;
        pool->parallelFor(static_cast<std::size_t>(nb), 1, [&](std::size_t b0, std::size_t b1) {
            for (std::size_t bi = b0; bi < b1; ++bi) {
                int j0 = static_cast<int>(bi) * block, j1 = std::min(n, j0 + block);
                gemmABtRows(0, m, j1 - j0, k, a, lda, b + static_cast<std::size_t>(j0) * ldb, ldb, c + j0, ldc, beta);
            }
        });
    } else {
        gemmABtRows(0, m, n, k, a, lda, b, ldb, c, ldc, beta);
    }
}

ATTN_CLONES void gemmAB(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
                        float beta) {
    for (int i = 0; i < m; ++i) {
        float* ci = c + static_cast<std::size_t>(i) * ldc;
        if (beta == 0) std::fill(ci, ci + n, 0.0f);
        else if (beta != 1)
            for (int j = 0; j < n; ++j) ci[j] *= beta;
        const float* ai = a + static_cast<std::size_t>(i) * lda;
        for (int p = 0; p < k; ++p) {
            float av = ai[p];
            if (av == 0) continue;
            const float* bp = b + static_cast<std::size_t>(p) * ldb;
            for (int j = 0; j < n; ++j) ci[j] += av * bp[j];
        }
    }
}

namespace {

constexpr int kRowwiseRows = 4;  // up to this many input rows (decode calls): dequantise-and-dot per weight row

// y[i][r] = x[i] · w[r] for a few input rows: each weight row is dequantised into a per-thread
// buffer and used at once, while it is in the L1 cache (no pass over a scratch matrix).
void linearFewRows(ThreadPool& pool, const float* x, int n, const TensorView& w, float* y) {
    const int out = static_cast<int>(w.rows), in = static_cast<int>(w.cols);
    pool.parallelFor(static_cast<std::size_t>(out), 64, [&](std::size_t a, std::size_t b) {
        thread_local std::vector<float> row;
        row.resize(static_cast<std::size_t>(in));
        for (std::size_t r = a; r < b; ++r) {
            dequantizeRow(w.dtype, w.row(static_cast<std::int64_t>(r)), row.data(), static_cast<std::size_t>(in));
            for (int i = 0; i < n; ++i)
                y[static_cast<std::size_t>(i) * out + r] = dot(x + static_cast<std::size_t>(i) * in, row.data(), in);
        }
    });
}

}  // namespace

void linear(ThreadPool& pool, const float* x, int n, const TensorView& w, const TensorView* bias, float* y) {
    const int out = static_cast<int>(w.rows), in = static_cast<int>(w.cols);
    if (w.dtype != DType::F32 && n <= kRowwiseRows) {
        linearFewRows(pool, x, n, w, y);
    } else if (w.dtype == DType::F32) {
        gemmABt(&pool, n, out, in, x, in, reinterpret_cast<const float*>(w.data), in, y, out, 0.0f);
    } else {
        // Dequantise a block of weight rows, multiply, move on: memory stays O(block × in).
        const int block = std::max(16, std::min(out, (1 << 20) / std::max(in, 1)));
        std::vector<float> scratch(static_cast<std::size_t>(block) * in);
        for (int r0 = 0; r0 < out; r0 += block) {
            int r1 = std::min(out, r0 + block);
            pool.parallelFor(static_cast<std::size_t>(r1 - r0), 8, [&](std::size_t a, std::size_t b) {
                for (std::size_t r = a; r < b; ++r)
                    dequantizeRow(w.dtype, w.row(r0 + static_cast<std::int64_t>(r)), scratch.data() + r * in,
                                  static_cast<std::size_t>(in));
            });
            gemmABt(&pool, n, r1 - r0, in, x, in, scratch.data(), in, y + r0, out, 0.0f);
        }
    }
    if (bias && bias->present()) {
        std::vector<float> b(static_cast<std::size_t>(out));
        dequantizeRow(bias->dtype, bias->data, b.data(), static_cast<std::size_t>(out));
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < out; ++j) y[static_cast<std::size_t>(i) * out + j] += b[static_cast<std::size_t>(j)];
    }
}

void rmsnorm(const float* x, const float* w, float* out, int n, float eps, bool addOne) {
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    float scale = 1.0f / std::sqrt(static_cast<float>(ss / n) + eps);
    for (int i = 0; i < n; ++i) out[i] = x[i] * scale * (addOne ? 1.0f + w[i] : w[i]);
}

void rope(float* x, const float* cs, int ropeDim, RopeLayout layout) {
    const int half = ropeDim / 2;
    const bool adjacent = layout == RopeLayout::AdjacentPairs;
    for (int k = 0; k < half; ++k) {
        const int i0 = adjacent ? 2 * k : k, i1 = adjacent ? 2 * k + 1 : k + half;
        const float c = cs[2 * k], s = cs[2 * k + 1];
        const float a = x[i0], b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = a * s + b * c;
    }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

float geluTanh(float x) {
    const float c = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
}

}  // namespace attnscope::cpu
