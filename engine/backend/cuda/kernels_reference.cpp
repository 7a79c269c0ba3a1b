#include "backend/cuda/kernels_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "analysis/online_stats.h"
#include "analysis/selective_attention.h"
#include "core/dtype.h"
#include "plan/visibility.h"

namespace attnscope::cuda::reference {

float loadElem(ElemType t, const void* base, std::size_t idx) {
    if (t == ElemType::F32) return static_cast<const float*>(base)[idx];
    std::uint16_t b;
    std::memcpy(&b, static_cast<const unsigned char*>(base) + idx * 2, 2);
    return t == ElemType::F16 ? f16ToF32(b) : bf16ToF32(b);
}

void storeElem(ElemType t, void* base, std::size_t idx, float v) {
    if (t == ElemType::F32) {
        static_cast<float*>(base)[idx] = v;
        return;
    }
    const std::uint16_t b = t == ElemType::F16 ? f32ToF16(v) : f32ToBf16(v);
    std::memcpy(static_cast<unsigned char*>(base) + idx * 2, &b, 2);
}

void embed(ElemType type, const void* table, int dim, const int* ids, int n, float scale, float* x) {
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < dim; ++c)
            x[static_cast<std::size_t>(i) * dim + c] =
                loadElem(type, table, static_cast<std::size_t>(ids[i]) * dim + c) * scale;
}

void rmsNorm(ElemType outType, const float* x, int rows, int cols, const float* w, bool addOne, float eps, void* out,
             bool accumulate) {
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (int r = 0; r < rows; ++r) {
        const float* xr = x + static_cast<std::size_t>(r) * cols;
        double ss = 0;
        for (int c = 0; c < cols; ++c) ss += static_cast<double>(xr[c]) * xr[c];
        const double inv = 1.0 / std::sqrt(ss / cols + eps);
        for (int c = 0; c < cols; ++c)
            row[static_cast<std::size_t>(c)] = static_cast<float>(xr[c] * inv * (addOne ? 1.0 + w[c] : w[c]));
        for (int c = 0; c < cols; ++c) {
            const std::size_t idx = static_cast<std::size_t>(r) * cols + c;
            float y = row[static_cast<std::size_t>(c)];
            if (accumulate) y += loadElem(outType, out, idx);
            storeElem(outType, out, idx, y);
        }
    }
}

void addBias(float* y, int rows, int cols, const float* bias) {
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) y[static_cast<std::size_t>(r) * cols + c] += bias[c];
}

void rope(ElemType outType, const float* x, int rows, int heads, int headDim, int ropeDim, bool adjacentPairs,
          const float* cs, void* out) {
    const int half = ropeDim / 2;
    std::vector<float> v(static_cast<std::size_t>(headDim));
    for (int i = 0; i < rows; ++i)
        for (int h = 0; h < heads; ++h) {
            const std::size_t base = (static_cast<std::size_t>(i) * heads + h) * headDim;
            std::copy(x + base, x + base + headDim, v.begin());
            for (int p = 0; p < half; ++p) {
                const double c = cs[(static_cast<std::size_t>(i) * half + p) * 2];
                const double s = cs[(static_cast<std::size_t>(i) * half + p) * 2 + 1];
                const int d0 = adjacentPairs ? 2 * p : p, d1 = adjacentPairs ? 2 * p + 1 : p + half;
                const double a = x[base + d0], b = x[base + d1];
                v[static_cast<std::size_t>(d0)] = static_cast<float>(a * c - b * s);
                v[static_cast<std::size_t>(d1)] = static_cast<float>(a * s + b * c);
            }
            for (int d = 0; d < headDim; ++d) storeElem(outType, out, base + d, v[static_cast<std::size_t>(d)]);
        }
}

void gatedActivation(ElemType outType, const float* gate, const float* up, std::size_t n, bool geluTanh, void* out) {
    for (std::size_t i = 0; i < n; ++i) {
        const double g = gate[i];
        const double a =
            geluTanh ? 0.5 * g * (1.0 + std::tanh(std::sqrt(2.0 / 3.14159265358979323846) * (g + 0.044715 * g * g * g)))
                     : g / (1.0 + std::exp(-g));
        storeElem(outType, out, i, static_cast<float>(a * up[i]));
    }
}

void dequantQ8_0(ElemType outType, const std::uint8_t* blocks, std::size_t n, void* out) {
    std::vector<float> tmp(n);
    dequantizeRow(DType::Q8_0, blocks, tmp.data(), n);
    for (std::size_t i = 0; i < n; ++i) storeElem(outType, out, i, tmp[i]);
}

void convert(ElemType outType, const float* in, std::size_t n, void* out) {
    for (std::size_t i = 0; i < n; ++i) storeElem(outType, out, i, in[i]);
}

void nllArgmax(const float* logits, int rows, int vocab, const int* targets, float* nll, int* argmax) {
    for (int r = 0; r < rows; ++r) {
        const float* lg = logits + static_cast<std::size_t>(r) * vocab;
        int best = 0;
        for (int c = 1; c < vocab; ++c)
            if (lg[c] > lg[best]) best = c;
        double z = 0;
        for (int c = 0; c < vocab; ++c) z += std::exp(static_cast<double>(lg[c]) - lg[best]);
        argmax[r] = best;
        if (targets[r] >= 0) nll[r] = static_cast<float>(lg[best] + std::log(z) - lg[targets[r]]);
    }
}

namespace {

const void* rowOf(const TokenRows& r, int t, std::size_t& idx) {
    if (t < r.split) {
        idx = static_cast<std::size_t>(t) * r.stride;
        return r.head;
    }
    idx = static_cast<std::size_t>(t - r.split) * r.stride;
    return r.tail;
}

float elem(const TokenRows& r, ElemType type, int t, std::size_t offset) {
    std::size_t idx;
    const void* base = rowOf(r, t, idx);
    return loadElem(type, base, idx + offset);
}

bool visible(const AttentionGeometry& g, const VisibilityArgs& v, int i, int j) {
    return keyVisible(i, j, v.rowKeys[2 * i], v.rowKeys[2 * i + 1], g.window, v.windowPositions);
}

bool kept(const AttentionGeometry& g, const VisibilityArgs& v, int h, int i, int j) {
    if (!v.selected || i < v.queryBegin) return true;
    const int c = v.keyChunk[j];
    if (c < 0) return true;
    const int queries = g.tokens - v.queryBegin;
    return v.selected[(static_cast<std::size_t>(h) * queries + (i - v.queryBegin)) * v.chunks + c] != 0;
}

double score(ElemType type, const AttentionGeometry& g, const TokenRows& q, const TokenRows& k, int h, int i, int j) {
    const int kvh = h / (g.heads / g.kvHeads);
    double s = 0;
    for (int d = 0; d < g.headDim; ++d)
        s += static_cast<double>(elem(q, type, i, static_cast<std::size_t>(h) * g.headDim + d)) *
             elem(k, type, j, static_cast<std::size_t>(kvh) * g.headDim + d);
    return s * g.scale;
}

// Probabilities of row i, head h over keys [0, i]: 0 where invisible or dropped. With `floor`,
// p = e / max(Σ_kept e, 1e-5 · Σ_visible e) (renormaliser, online_stats.h); else a plain
// softmax over the kept keys. Returns ln of the normaliser relative to the raw scores (the row's
// lse), or NaN when the row keeps no visible key (it has no distribution).
double rowProbabilities(ElemType type, const AttentionGeometry& g, const VisibilityArgs& v, const TokenRows& q,
                        const TokenRows& k, int h, int i, bool floor, std::vector<double>& p) {
    p.assign(static_cast<std::size_t>(i) + 1, 0.0);
    std::vector<double> s(static_cast<std::size_t>(i) + 1, 0.0);
    double m = -std::numeric_limits<double>::infinity();
    for (int j = 0; j <= i; ++j)
        if (visible(g, v, i, j)) {
            s[static_cast<std::size_t>(j)] = score(type, g, q, k, h, i, j);
            m = std::max(m, s[static_cast<std::size_t>(j)]);
        }
    double all = 0, keptSum = 0;
    int keptKeys = 0;
    for (int j = 0; j <= i; ++j) {
        if (!visible(g, v, i, j)) continue;
        const double e = std::exp(s[static_cast<std::size_t>(j)] - m);
        all += e;
        if (kept(g, v, h, i, j)) {
            p[static_cast<std::size_t>(j)] = e;
            keptSum += e;
            ++keptKeys;
        }
    }
    if (keptKeys == 0) return std::numeric_limits<double>::quiet_NaN();
    const double D = floor ? renormaliser(keptSum, all) : keptSum;
    for (auto& x : p) x /= D;
    return m + std::log(D);
}

}  // namespace

void attentionForward(const AttentionForwardArgs& a) {
    const AttentionGeometry& g = a.g;
    std::vector<double> p;
    for (int h = 0; h < g.heads; ++h) {
        const int kvh = h / (g.heads / g.kvHeads);
        for (int i = a.rowBegin; i < a.rowEnd; ++i) {
            const double lse = rowProbabilities(a.type, g, a.vis, a.q, a.k, h, i, a.lseBefore != nullptr, p);
            const std::size_t hi = static_cast<std::size_t>(h) * g.tokens + i;
            const std::size_t outBase = static_cast<std::size_t>(i - a.outRowOffset) * g.heads * g.headDim +
                                        static_cast<std::size_t>(h) * g.headDim;
            if (std::isnan(lse)) {  // no key kept: no distribution, NaN everywhere
                a.entropy[hi] = a.lse[hi] = std::numeric_limits<float>::quiet_NaN();
                for (int d = 0; d < g.headDim; ++d)
                    storeElem(a.type, a.out, outBase + d, std::numeric_limits<float>::quiet_NaN());
                continue;
            }
            double H = 0;
            for (double x : p)
                if (x > 0) H -= x * std::log(x);
            a.entropy[hi] = static_cast<float>(H);
            a.lse[hi] = static_cast<float>(lse);
            for (int d = 0; d < g.headDim; ++d) {
                double o = 0;
                for (int j = 0; j <= i; ++j)
                    if (p[static_cast<std::size_t>(j)] > 0)
                        o += p[static_cast<std::size_t>(j)] *
                             elem(a.v, a.type, j, static_cast<std::size_t>(kvh) * g.headDim + d);
                storeElem(a.type, a.out, outBase + d, static_cast<float>(o));
            }
        }
    }
}

namespace {

void writeNanStats(const QueryStatsArgs& a, std::size_t hq) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int c = 0; c < a.vis.chunks; ++c) {
        if (a.chunkMass) a.chunkMass[hq * a.vis.chunks + c] = nan;
        if (a.score) a.score[hq * a.vis.chunks + c] = nan;
    }
    if (a.prefixMass) a.prefixMass[hq] = nan;
    if (a.queryMass) a.queryMass[hq] = nan;
}

}  // namespace

void queryStats(const QueryStatsArgs& a) {
    const AttentionGeometry& g = a.g;
    const int Q = g.tokens - a.vis.queryBegin, P = a.vis.chunks;
    for (int h = 0; h < g.heads; ++h)
        for (int q = 0; q < Q; ++q) {
            const int i = a.vis.queryBegin + q;
            const double lse = a.lse[static_cast<std::size_t>(h) * g.tokens + i];
            const std::size_t hq = static_cast<std::size_t>(h) * Q + q;
            if (!std::isfinite(lse)) {  // the row saw no key: no distribution, NaN statistics
                writeNanStats(a, hq);
                continue;
            }
            std::vector<double> p(static_cast<std::size_t>(i) + 1, 0.0);
            for (int j = 0; j <= i; ++j)
                if (visible(g, a.vis, i, j) && kept(g, a.vis, h, i, j))
                    p[static_cast<std::size_t>(j)] = std::exp(score(a.type, g, a.q, a.k, h, i, j) - lse);
            for (int c = 0; c < P; ++c) {
                const int c0 = a.chunkBegin[c], c1 = a.chunkBegin[c + 1];
                std::vector<double> in;
                for (int j = c0; j < c1 && j <= i; ++j)
                    if (visible(g, a.vis, i, j) && kept(g, a.vis, h, i, j))
                        in.push_back(p[static_cast<std::size_t>(j)]);
                const double mass = std::accumulate(in.begin(), in.end(), 0.0);
                if (a.chunkMass) a.chunkMass[hq * P + c] = static_cast<float>(mass);
                if (a.score) {
                    // The selective-attention rule itself (analysis/selective_attention.h); Sum
                    // is the chunk's mass.
                    double s = mass;
                    if (a.scoreMode == ChunkScore::Mean) s = chunkScore(in, 0, c1 - c0);
                    if (a.scoreMode == ChunkScore::TopN) s = chunkScore(in, a.scoreTopN, c1 - c0);
                    a.score[hq * P + c] = static_cast<float>(s);
                }
            }
            double pre = 0, qry = 0;
            for (int j = 0; j < a.prefixLength && j <= i; ++j) pre += p[static_cast<std::size_t>(j)];
            for (int j = a.vis.queryBegin; j <= i; ++j) qry += p[static_cast<std::size_t>(j)];
            if (a.prefixMass) a.prefixMass[hq] = static_cast<float>(pre);
            if (a.queryMass) a.queryMass[hq] = static_cast<float>(qry);
        }
}

void attentionTile(const TileArgs& a) {
    const AttentionGeometry& g = a.g;
    const int nr = a.rowEnd - a.rowBegin, nc = a.colEnd - a.colBegin;
    const int h0 = a.head < 0 ? 0 : a.head, h1 = a.head < 0 ? g.heads : a.head + 1;
    std::vector<double> cell(static_cast<std::size_t>(nc));
    for (int r = 0; r < a.outRows; ++r) {
        const int i0 = a.rowBegin + static_cast<int>(static_cast<long long>(r) * nr / a.outRows);
        const int i1 = a.rowBegin + static_cast<int>(static_cast<long long>(r + 1) * nr / a.outRows);
        for (int i = i0; i < i1; ++i) {
            std::fill(cell.begin(), cell.end(), 0.0);
            for (int h = h0; h < h1; ++h) {
                const double lse = a.lse[static_cast<std::size_t>(h) * g.tokens + i];
                for (int j = a.colBegin; j < a.colEnd; ++j)
                    if (visible(g, a.vis, i, j) && kept(g, a.vis, h, i, j))
                        cell[static_cast<std::size_t>(j - a.colBegin)] +=
                            std::exp(score(a.type, g, a.q, a.k, h, i, j) - lse) / (h1 - h0);
            }
            for (int c = 0; c < a.outCols; ++c) {
                const int j0 = static_cast<int>(static_cast<long long>(c) * nc / a.outCols);
                const int j1 = static_cast<int>(static_cast<long long>(c + 1) * nc / a.outCols);
                float& dst = a.out[static_cast<std::size_t>(r) * a.outCols + c];
                for (int j = j0; j < j1; ++j) {
                    const auto v = static_cast<float>(cell[static_cast<std::size_t>(j)]);
                    dst = a.maxPool ? std::max(dst, v) : dst + v;
                }
            }
        }
    }
}

}  // namespace attnscope::cuda::reference
