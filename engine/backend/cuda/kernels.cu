// The CUDA backend's kernels (declarations and shapes: kernels.h; CPU twins:
// kernels_reference.cpp). Written to be read: one job per kernel, float32 arithmetic, and no
// warp shuffles — a warp combines values through a small shared-memory array and __syncwarp,
// every lane summing the 32 entries in the same order, so all lanes hold identical results.
#include "backend/cuda/kernels.h"

#include <type_traits>

#include "analysis/online_stats.h"
#include "backend/cuda/kernel_rows.h"
#include "plan/visibility.h"

namespace attnscope::cuda {

namespace {

constexpr int kElementwiseThreads = 256;
constexpr unsigned kMaxElementwiseBlocks = 1u << 16;

unsigned elementwiseBlocks(std::size_t n) {
    std::size_t b = (n + kElementwiseThreads - 1) / kElementwiseThreads;
    if (b < 1) b = 1;
    return b > kMaxElementwiseBlocks ? kMaxElementwiseBlocks : static_cast<unsigned>(b);
}

#define ATTN_GRID_STRIDE(idx, n)                                                                       \
    for (std::size_t idx = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < (n); \
         idx += static_cast<std::size_t>(gridDim.x) * blockDim.x)

// ---- layers ----------------------------------------------------------------------------------

// x[i][c] = table[ids[i]][c] · scale.  table [vocab][dim], x [n][dim].
template <typename T>
__global__ void embedKernel(const T* table, int dim, const int* ids, int n, float scale, float* x) {
    const std::size_t total = static_cast<std::size_t>(n) * dim;
    ATTN_GRID_STRIDE(idx, total) {
        const std::size_t i = idx / dim, c = idx % dim;
        x[idx] = ld(table + static_cast<std::size_t>(ids[i]) * dim + c) * scale;
    }
}

// RMSNorm, one warp per row: out[r][c] (+)= x[r][c] · rsqrt(mean x[r]² + eps) · w'[c].
constexpr int kNormWarps = 4;
template <typename OutT>
__global__ void __launch_bounds__(kNormWarps * 32) rmsNormKernel(const float* x, int rows, int cols, const float* w,
                                                                 int addOne, float eps, OutT* out, int accumulate) {
    __shared__ float partial[kNormWarps][32];
    const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
    const int r = static_cast<int>(blockIdx.x) * kNormWarps + warp;
    if (r >= rows) return;  // the whole warp leaves together
    const float* xr = x + static_cast<std::size_t>(r) * cols;
    float ss = 0;
    for (int c = lane; c < cols; c += 32) ss += xr[c] * xr[c];
    partial[warp][lane] = ss;
    __syncwarp();
    float total = 0;
    for (int l = 0; l < 32; ++l) total += partial[warp][l];
    const float inv = rsqrtf(total / static_cast<float>(cols) + eps);
    OutT* o = out + static_cast<std::size_t>(r) * cols;
    for (int c = lane; c < cols; c += 32) {  // each lane rewrites only what it read: in place is safe
        const float wc = addOne ? 1.0f + w[c] : w[c];
        float y = xr[c] * inv * wc;
        if (accumulate) y += ld(o + c);
        st(o + c, y);
    }
}

// y[r][c] += bias[c].
__global__ void addBiasKernel(float* y, int rows, int cols, const float* bias) {
    const std::size_t total = static_cast<std::size_t>(rows) * cols;
    ATTN_GRID_STRIDE(idx, total) y[idx] += bias[idx % cols];
}

// Rotary embedding of every head of every row, written in the storage type.
// x [rows][heads·hd], cs [rows][ropeDim/2][2], out [rows][heads·hd].
template <typename OutT>
__global__ void ropeKernel(const float* x, int rows, int heads, int hd, int ropeDim, int adjacentPairs, const float* cs,
                           OutT* out) {
    const std::size_t total = static_cast<std::size_t>(rows) * heads * hd;
    const int half = ropeDim / 2;
    ATTN_GRID_STRIDE(idx, total) {
        const int d = static_cast<int>(idx % hd);
        const std::size_t i = idx / hd / heads;
        const float* xv = x + (idx - d);  // this head's vector
        float y = xv[d];
        if (d < ropeDim) {
            int p;
            float partner, sign;
            if (adjacentPairs) {
                p = d / 2;
                partner = (d % 2 == 0) ? xv[d + 1] : xv[d - 1];
                sign = (d % 2 == 0) ? -1.0f : 1.0f;
            } else {
                p = d < half ? d : d - half;
                partner = d < half ? xv[d + half] : xv[d - half];
                sign = d < half ? -1.0f : 1.0f;
            }
            const float c = cs[(i * half + p) * 2], s = cs[(i * half + p) * 2 + 1];
            // first of a pair: a·cos - b·sin; second: a·sin + b·cos (a first, b second element)
            y = sign < 0 ? y * c - partner * s : partner * s + y * c;
        }
        st(out + idx, y);
    }
}

// out[i] = act(gate[i]) · up[i].
template <typename OutT>
__global__ void gatedKernel(const float* gate, const float* up, std::size_t n, int geluTanh, OutT* out) {
    ATTN_GRID_STRIDE(idx, n) {
        const float g = gate[idx];
        float a;
        if (geluTanh) a = 0.5f * g * (1.0f + tanhf(0.7978845608028654f * (g + 0.044715f * g * g * g)));
        else a = g / (1.0f + expf(-g));
        st(out + idx, a * up[idx]);
    }
}

// Q8_0 → T: element e of block b is d_b · q[e].
template <typename OutT>
__global__ void dequantQ8_0Kernel(const std::uint8_t* blocks, std::size_t n, OutT* out) {
    ATTN_GRID_STRIDE(idx, n) {
        const std::uint8_t* p = blocks + (idx / 32) * 34;
        const float d = halfBitsToFloat(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
        const auto q = static_cast<std::int8_t>(p[2 + idx % 32]);
        st(out + idx, d * static_cast<float>(q));
    }
}

template <typename OutT>
__global__ void convertKernel(const float* in, std::size_t n, OutT* out) {
    ATTN_GRID_STRIDE(idx, n) st(out + idx, in[idx]);
}

// One block per row of logits: first arg-max, then logsumexp − logit[target].
constexpr int kNllThreads = 256;
__global__ void __launch_bounds__(kNllThreads)
    nllArgmaxKernel(const float* logits, int vocab, const int* targets, float* nll, int* argmax) {
    __shared__ float value[kNllThreads];
    __shared__ int index[kNllThreads];
    const int tid = static_cast<int>(threadIdx.x);
    const float* lg = logits + static_cast<std::size_t>(blockIdx.x) * vocab;
    float best = -INFINITY;
    int bestIdx = 0x7fffffff;
    for (int c = tid; c < vocab; c += kNllThreads)
        if (lg[c] > best) {
            best = lg[c];
            bestIdx = c;
        }
    value[tid] = best;
    index[tid] = bestIdx;
    __syncthreads();
    for (int s = kNllThreads / 2; s > 0; s /= 2) {
        if (tid < s) {
            const float v = value[tid + s];
            const int vi = index[tid + s];
            if (v > value[tid] || (v == value[tid] && vi < index[tid])) {
                value[tid] = v;
                index[tid] = vi;
            }
        }
        __syncthreads();
    }
    const float mx = value[0];
    const int am = index[0];
    __syncthreads();
    float z = 0;
    for (int c = tid; c < vocab; c += kNllThreads) z += expf(lg[c] - mx);
    value[tid] = z;
    __syncthreads();
    for (int s = kNllThreads / 2; s > 0; s /= 2) {
        if (tid < s) value[tid] += value[tid + s];
        __syncthreads();
    }
    if (tid == 0) {
        argmax[blockIdx.x] = am;
        const int t = targets[blockIdx.x];
        if (t >= 0) nll[blockIdx.x] = mx + logf(value[0]) - lg[t];
    }
}

// ---- attention ---------------------------------------------------------------------------------

constexpr int kAttnWarps = 4;                         // warps per block
constexpr int kRowsPerWarp = 4;                       // rows of one head per warp
constexpr int kAttnRows = kAttnWarps * kRowsPerWarp;  // rows per block
constexpr int kKeyTile = 32;                          // keys per tile: lane j scores key k0 + j

// Block = 16 consecutive rows of one head (blockIdx.y). Per key tile:
//  1. each lane marks which of its warp's 4 rows see key k0 + lane; if no row of the block sees
//     any key of the tile, the tile is skipped (__syncthreads_or) — the tile classifier;
//  2. K and V of the tile go to shared memory as float;
//  3. lane j computes s = q·k_j for the warp's 4 rows; the warp takes the tile maximum, lane j
//     forms e = e^(s - m_new) and e·(s - m_new); each lane sums the 32 entries of both;
//  4. online update of (m, l, t) (online_stats.h) and of the output accumulator o.
// DPL = ceil(hd / 32) output dims per lane.

// One row of a warp: its token, key ranges and kept chunks, its running statistics and its
// share of the output accumulator (lane owns dims lane + 32u). Identical in all 32 lanes.
template <int DPL>
struct AttentionRow {
    int i = 0, a = 0, b = 0;  // token; keys [0, a) ∪ [b, i] (plan/visibility.h)
    bool valid = false;
    const std::uint8_t* sel = nullptr;
    OnlineStats stats;
    float o[DPL];
};

// The block's shared memory.
struct AttentionShared {
    float* qs;   // [kAttnRows][hd] queries · scale
    float* ks;   // [kKeyTile][hd + 1] keys (padded: no bank conflicts)
    float* vs;   // [kKeyTile][hd] values
    float* sS;   // this warp's [kRowsPerWarp][32] scores
    float* sE;   // e^(s - m_new)
    float* sES;  // e^(s - m_new) · (s - m_new)
};

ATTN_DEV AttentionShared attentionShared(int hd, int warp) {
    AttentionShared s;
    s.qs = dynamicShared<float>();
    s.ks = s.qs + kAttnRows * hd;
    s.vs = s.ks + kKeyTile * (hd + 1);
    s.sS = s.vs + kKeyTile * hd + warp * 3 * kRowsPerWarp * 32;
    s.sE = s.sS + kRowsPerWarp * 32;
    s.sES = s.sE + kRowsPerWarp * 32;
    return s;
}

template <typename T, int DPL>
ATTN_DEV void loadRows(const AttentionForwardArgs& a, int h, int row0, int warp, const AttentionShared& sh,
                       AttentionRow<DPL>* rows) {
    const int hd = a.g.headDim;
    for (int idx = static_cast<int>(threadIdx.x); idx < kAttnRows * hd; idx += static_cast<int>(blockDim.x)) {
        const int r = idx / hd, d = idx % hd, i = row0 + r;
        sh.qs[idx] = i < a.rowEnd ? ld(rowPtr<T>(a.q, i) + static_cast<std::size_t>(h) * hd + d) * a.g.scale : 0.0f;
    }
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        AttentionRow<DPL>& row = rows[rr];
        row.i = row0 + warp * kRowsPerWarp + rr;
        row.valid = row.i < a.rowEnd;
        row.a = row.valid ? a.vis.rowKeys[2 * row.i] : 0;
        row.b = row.valid ? a.vis.rowKeys[2 * row.i + 1] : 0;
        row.sel = row.valid ? selectionRow(a.vis, a.g.tokens, h, row.i) : nullptr;
        for (int u = 0; u < DPL; ++u) row.o[u] = 0;
    }
}

// Bit rr set when row rr of the warp sees key j and keeps it.
template <int DPL>
ATTN_DEV unsigned keyRowBits(const AttentionForwardArgs& a, const AttentionRow<DPL>* rows, int j) {
    unsigned bits = 0;
    for (int rr = 0; rr < kRowsPerWarp; ++rr)
        if (rows[rr].valid && j < a.g.tokens &&
            keyVisible(rows[rr].i, j, rows[rr].a, rows[rr].b, a.g.window, a.vis.windowPositions) &&
            keyKept(a.vis, rows[rr].sel, j))
            bits |= 1u << rr;
    return bits;
}

template <typename T>
ATTN_DEV void loadKeyTile(const AttentionForwardArgs& a, int kvh, int k0, const AttentionShared& sh) {
    const int hd = a.g.headDim;
    for (int idx = static_cast<int>(threadIdx.x); idx < kKeyTile * hd; idx += static_cast<int>(blockDim.x)) {
        const int jj = idx / hd, d = idx % hd, key = k0 + jj;
        float kv = 0, vv = 0;
        if (key < a.g.tokens) {
            kv = ld(rowPtr<T>(a.k, key) + static_cast<std::size_t>(kvh) * hd + d);
            vv = ld(rowPtr<T>(a.v, key) + static_cast<std::size_t>(kvh) * hd + d);
        }
        sh.ks[jj * (hd + 1) + d] = kv;
        sh.vs[jj * hd + d] = vv;
    }
}

// sS[rr][lane] = q_rr · k_(k0 + lane), or −∞ where row rr does not see that key.
ATTN_DEV void scoreTile(int hd, int warp, int lane, unsigned bits, const AttentionShared& sh) {
    float acc[kRowsPerWarp];
    for (int rr = 0; rr < kRowsPerWarp; ++rr) acc[rr] = 0;
    const float* kr = sh.ks + lane * (hd + 1);
    const float* qw = sh.qs + warp * kRowsPerWarp * hd;
    for (int d = 0; d < hd; ++d) {
        const float kd = kr[d];
        for (int rr = 0; rr < kRowsPerWarp; ++rr) acc[rr] += qw[rr * hd + d] * kd;
    }
    for (int rr = 0; rr < kRowsPerWarp; ++rr) sh.sS[rr * 32 + lane] = ((bits >> rr) & 1u) ? acc[rr] : -INFINITY;
}

// New running maxima, and per key e = e^(s − m_new) and e·(s − m_new) into sE, sES.
template <int DPL>
ATTN_DEV void exponentiateTile(const AttentionRow<DPL>* rows, int lane, unsigned bits, const AttentionShared& sh,
                               float* mNew) {
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        float tileMax = -INFINITY;
        for (int jj = 0; jj < 32; ++jj) tileMax = fmaxf(tileMax, sh.sS[rr * 32 + jj]);
        mNew[rr] = fmaxf(rows[rr].stats.m, tileMax);
        float e = 0, es = 0;
        if ((bits >> rr) & 1u) {
            const float sm = sh.sS[rr * 32 + lane] - mNew[rr];
            e = expf(sm);
            es = e * sm;
        }
        sh.sE[rr * 32 + lane] = e;
        sh.sES[rr * 32 + lane] = es;
    }
}

// The tile into each row's (m, l, t), and its values into the output accumulator.
template <int DPL>
ATTN_DEV void absorbTile(int hd, int lane, const float* mNew, const AttentionShared& sh, AttentionRow<DPL>* rows) {
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        if (mNew[rr] == -INFINITY) continue;  // the row has seen no key yet
        float sumE = 0, sumES = 0;
        for (int jj = 0; jj < 32; ++jj) {
            sumE += sh.sE[rr * 32 + jj];
            sumES += sh.sES[rr * 32 + jj];
        }
        const float c = rows[rr].stats.absorb(mNew[rr], sumE, sumES);
        for (int u = 0; u < DPL; ++u) rows[rr].o[u] *= c;
    }
    for (int jj = 0; jj < kKeyTile; ++jj) {
        const float* vr = sh.vs + jj * hd;
        for (int rr = 0; rr < kRowsPerWarp; ++rr) {
            const float e = sh.sE[rr * 32 + jj];
            if (e == 0.0f) continue;
            for (int u = 0; u < DPL; ++u) {
                const int d = lane + 32 * u;
                if (d < hd) rows[rr].o[u] += e * vr[d];
            }
        }
    }
}

// out = o / D, entropy and lse of one finished row; D = l, or with selection
// max(l, 1e-5 · e^(lseBefore − m)) (online_stats.h), in logs so that nothing overflows.
// A row that saw no key it keeps has no distribution: NaN everywhere (not whatever the reused
// buffers held from the previous layer), which the engine's non-finite guard then reports.
template <typename T, int DPL>
ATTN_DEV void writeRow(const AttentionForwardArgs& a, int h, int lane, const AttentionRow<DPL>& row) {
    if (!row.valid) return;
    const int hd = a.g.headDim;
    const std::size_t hi = static_cast<std::size_t>(h) * a.g.tokens + row.i;
    T* orow = static_cast<T*>(a.out) + static_cast<std::size_t>(row.i - a.outRowOffset) * a.g.heads * hd +
              static_cast<std::size_t>(h) * hd;
    if (!(row.stats.l > 0)) {
        for (int d = lane; d < hd; d += 32) st(orow + d, NAN);
        if (lane == 0) a.entropy[hi] = a.lse[hi] = NAN;
        return;
    }
    const float logL = logf(row.stats.l);
    const float logD = a.lseBefore ? logRenormaliser(logL, a.lseBefore[hi] - row.stats.m) : logL;
    const float invD = expf(-logD);
    for (int u = 0; u < DPL; ++u) {
        const int d = lane + 32 * u;
        if (d < hd) st(orow + d, row.o[u] * invD);
    }
    if (lane == 0) {
        a.entropy[hi] = entropyNatsLog(logL, row.stats.t, logD);
        a.lse[hi] = row.stats.m + logD;
    }
}

template <typename T, int DPL>
__global__ void __launch_bounds__(kAttnWarps * 32) attentionForwardKernel(AttentionForwardArgs a) {
    const int h = static_cast<int>(blockIdx.y), kvh = h / (a.g.heads / a.g.kvHeads), hd = a.g.headDim;
    const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
    const int row0 = a.rowBegin + static_cast<int>(blockIdx.x) * kAttnRows;
    const AttentionShared sh = attentionShared(hd, warp);
    AttentionRow<DPL> rows[kRowsPerWarp];
    loadRows<T, DPL>(a, h, row0, warp, sh, rows);
    const BlockKeyTiles tiles = blockKeyTiles(a, row0, kAttnRows, kKeyTile);
    __syncthreads();

    for (int ti = 0; ti < tiles.count(); ++ti) {
        const int k0 = tiles.start(ti);
        const unsigned bits = keyRowBits(a, rows, k0 + lane);
        if (!__syncthreads_or(bits != 0)) continue;  // no row of the block sees this tile
        loadKeyTile<T>(a, kvh, k0, sh);
        __syncthreads();
        scoreTile(hd, warp, lane, bits, sh);
        __syncwarp();
        float mNew[kRowsPerWarp];
        exponentiateTile(rows, lane, bits, sh, mNew);
        __syncwarp();
        absorbTile(hd, lane, mNew, sh, rows);
        __syncthreads();  // the next tile overwrites ks, vs and the scratch rows
    }
    for (int rr = 0; rr < kRowsPerWarp; ++rr) writeRow<T, DPL>(a, h, lane, rows[rr]);
}

// Query statistics. A block takes a slice of the (head, query row) pairs of one GQA group — the
// heads that share KV head blockIdx.y — ordered query-major, so that it holds several query rows
// of every head of the group; each warp owns 8 pairs. The block walks the keys one segment at a
// time (each chunk, the prefix, the query), in tiles of 32 keys that it copies once into shared
// memory for all its pairs (whole K rows: coalesced), from the first key its rows can see
// (sliding window) to the last. Per tile:
//  1. each lane marks which of its warp's 8 pairs see and keep key k0 + lane; a tile that no pair
//     of the block sees is skipped before its keys are loaded;
//  2. lane j scores key k0 + j against the warp's 8 pairs: p = e^(s − lse), 0 where not seen;
//  3. four lanes per pair scan its 32 probabilities, each keeping a sum and a sorted top-n list.
// At the end of a segment the four lanes merge their sums (mass) and lists (sum of the top n).
// A pair whose lse is not finite (its row saw no key) gets NaN statistics.
constexpr int kStatsKeyTile = 32;                            // keys per tile: lane j scores key k0 + j
constexpr int kStatsPairsPerWarp = 8;                        // (head, query row) pairs per warp
constexpr int kStatsLanesPerPair = 32 / kStatsPairsPerWarp;  // lanes that scan one pair's tile
constexpr int kStatsScoreStride = kStatsKeyTile + 4;         // ps row: the scan hits 32 banks
constexpr int kStatsMaxWarps = 8;

// Warps per block: fewer for large heads, so that shared memory stays under 99 KiB (sm_86/89).
int statsWarps(int headDim) { return headDim <= 128 ? kStatsMaxWarps : kStatsMaxWarps / 2; }

// One pair of a warp: identical in all 32 lanes.
struct StatsPair {
    int h = 0, q = 0, i = 0, a = 0, b = 0;  // head, query index, token; keys [0, a) ∪ [b, i]
    bool valid = false;
    const std::uint8_t* sel = nullptr;
    float lse = 0;
};

// The block's shared memory; `pairs` pairs per block.
struct StatsShared {
    float* qs;   // [hd][pairs] queries · scale, dimension-major: a warp's 8 values of d are adjacent
    float* ks;   // [kStatsKeyTile][hd + 1] keys (padded: no bank conflicts)
    float* ps;   // [pairs][kStatsScoreStride] the tile's probabilities
    float* red;  // this warp's [32] merge scratch
};

ATTN_DEV StatsShared statsShared(int hd, int pairs, int warp) {
    StatsShared s;
    s.qs = dynamicShared<float>();
    s.ks = s.qs + hd * pairs;
    s.ps = s.ks + kStatsKeyTile * (hd + 1);
    s.red = s.ps + pairs * kStatsScoreStride + warp * 32;
    return s;
}

// The block's pairs [p0, p0 + pairs) of KV head kvh: pair p is head kvh·G + p % G of query p / G.
struct StatsBlock {
    int kvh = 0, group = 0, p0 = 0, pairs = 0, queries = 0;
    ATTN_DEV bool has(int p) const { return p < group * queries; }
    ATTN_DEV int head(int p) const { return kvh * group + p % group; }
    ATTN_DEV int query(int p) const { return p / group; }
};

ATTN_DEV StatsPair statsPair(const QueryStatsArgs& a, const StatsBlock& blk, int p) {
    StatsPair s;
    s.valid = blk.has(p);
    if (!s.valid) return s;
    s.h = blk.head(p);
    s.q = blk.query(p);
    s.i = a.vis.queryBegin + s.q;
    s.a = a.vis.rowKeys[2 * s.i];
    s.b = a.vis.rowKeys[2 * s.i + 1];
    s.sel = selectionRow(a.vis, a.g.tokens, s.h, s.i);
    s.lse = a.lse[static_cast<std::size_t>(s.h) * a.g.tokens + s.i];
    return s;
}

// The queries of the block's pairs into shared memory, and the warp's 8 pairs.
template <typename T>
ATTN_DEV void loadStatsPairs(const QueryStatsArgs& a, const StatsBlock& blk, int warp, const StatsShared& sh,
                             StatsPair* pairs) {
    const int hd = a.g.headDim;
    for (int idx = static_cast<int>(threadIdx.x); idx < blk.pairs * hd; idx += static_cast<int>(blockDim.x)) {
        const int r = idx / hd, d = idx % hd, p = blk.p0 + r;
        const int i = a.vis.queryBegin + blk.query(p);
        sh.qs[d * blk.pairs + r] =
            blk.has(p) ? ld(rowPtr<T>(a.q, i) + static_cast<std::size_t>(blk.head(p)) * hd + d) * a.g.scale : 0.0f;
    }
    for (int rr = 0; rr < kStatsPairsPerWarp; ++rr)
        pairs[rr] = statsPair(a, blk, blk.p0 + warp * kStatsPairsPerWarp + rr);
}

// Keys [lo, hi) that some row of the block may see: from the first row's window start (later rows'
// windows start later; 0 under the position rule) to the last row.
struct KeySpan {
    int lo = 0, hi = 0;
};
ATTN_DEV KeySpan statsKeySpan(const QueryStatsArgs& a, const StatsBlock& blk) {
    const int last = imin(blk.p0 + blk.pairs, blk.group * blk.queries) - 1;
    KeySpan s;
    s.lo = imax(0, windowStart(a.vis.queryBegin + blk.query(blk.p0), a.g.window, a.vis.windowPositions));
    s.hi = a.vis.queryBegin + blk.query(last) + 1;
    return s;
}

// Segment `seg` of the keys: chunk seg < P, then the prefix (P), then the query (P + 1).
constexpr int kPrefixSegment = -1, kQuerySegment = -2;
struct StatsSegment {
    int begin = 0, end = 0, chunk = kPrefixSegment;  // chunk index, or kPrefixSegment / kQuerySegment
};
ATTN_DEV StatsSegment statsSegment(const QueryStatsArgs& a, int seg) {
    const int P = a.vis.chunks;
    if (seg < P) return StatsSegment{a.chunkBegin[seg], a.chunkBegin[seg + 1], seg};
    if (seg == P) return StatsSegment{0, a.prefixLength, kPrefixSegment};
    return StatsSegment{a.vis.queryBegin, a.g.tokens, kQuerySegment};
}

// Bit rr set when pair rr of the warp sees key j, keeps it, and j < end.
ATTN_DEV unsigned pairKeyBits(const QueryStatsArgs& a, const StatsPair* pairs, int j, int end) {
    unsigned bits = 0;
    if (j >= end) return 0;
    for (int rr = 0; rr < kStatsPairsPerWarp; ++rr)
        if (pairs[rr].valid &&
            keyVisible(pairs[rr].i, j, pairs[rr].a, pairs[rr].b, a.g.window, a.vis.windowPositions) &&
            keyKept(a.vis, pairs[rr].sel, j))
            bits |= 1u << rr;
    return bits;
}

template <typename T>
ATTN_DEV void loadStatsKeyTile(const QueryStatsArgs& a, int kvh, int k0, const StatsShared& sh) {
    const int hd = a.g.headDim;
    for (int idx = static_cast<int>(threadIdx.x); idx < kStatsKeyTile * hd; idx += static_cast<int>(blockDim.x)) {
        const int jj = idx / hd, d = idx % hd, key = k0 + jj;
        sh.ks[jj * (hd + 1) + d] =
            key < a.g.tokens ? ld(rowPtr<T>(a.k, key) + static_cast<std::size_t>(kvh) * hd + d) : 0.0f;
    }
}

// ps[pair][lane] = e^(q_pair · k_(k0 + lane) − lse_pair), or 0 where the pair does not see that key.
// Per dimension a lane reads one key value and the warp's 8 query values as two float4.
ATTN_DEV void scoreStatsTile(int hd, int pairsPerBlock, int warp, int lane, unsigned bits, const StatsPair* pairs,
                             const StatsShared& sh) {
    float acc[kStatsPairsPerWarp];
    for (int rr = 0; rr < kStatsPairsPerWarp; ++rr) acc[rr] = 0;
    const float* kr = sh.ks + lane * (hd + 1);
    const float* qw = sh.qs + warp * kStatsPairsPerWarp;
    for (int d = 0; d < hd; ++d) {
        const float kd = kr[d];
        const float4 q0 = *reinterpret_cast<const float4*>(qw + d * pairsPerBlock);
        const float4 q1 = *reinterpret_cast<const float4*>(qw + d * pairsPerBlock + 4);
        const float qd[kStatsPairsPerWarp] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
        for (int rr = 0; rr < kStatsPairsPerWarp; ++rr) acc[rr] += qd[rr] * kd;
    }
    for (int rr = 0; rr < kStatsPairsPerWarp; ++rr)
        sh.ps[(warp * kStatsPairsPerWarp + rr) * kStatsScoreStride + lane] =
            ((bits >> rr) & 1u) ? expf(acc[rr] - pairs[rr].lse) : 0.0f;
}

// One lane's share of a pair's segment: a sum and the n largest probabilities, descending (0: empty).
struct SegmentScan {
    float sum = 0;
    float top[kMaxScoreTopN];
};

ATTN_DEV void scanStatsTile(int warp, int lane, int topN, const StatsShared& sh, SegmentScan& scan) {
    const float* pr = sh.ps + (warp * kStatsPairsPerWarp + lane / kStatsLanesPerPair) * kStatsScoreStride;
    for (int jj = lane % kStatsLanesPerPair; jj < kStatsKeyTile; jj += kStatsLanesPerPair) {
        const float p = pr[jj];
        scan.sum += p;
        if (topN > 0 && p > scan.top[topN - 1]) {
            int e = topN - 1;
            while (e > 0 && scan.top[e - 1] < p) {
                scan.top[e] = scan.top[e - 1];
                --e;
            }
            scan.top[e] = p;
        }
    }
}

// The pair's mass and top-n sum from its four lanes' scans (the same in the four lanes): n rounds
// of "take the largest head" over the four sorted lists.
ATTN_DEV void mergeSegment(int lane, int topN, const SegmentScan& scan, float* red, float& mass, float& topSum) {
    const int first = lane - lane % kStatsLanesPerPair;
    red[lane] = scan.sum;
    __syncwarp();
    mass = 0;
    for (int l = first; l < first + kStatsLanesPerPair; ++l) mass += red[l];
    __syncwarp();
    topSum = 0;
    int next = 0;  // head of this lane's list
    for (int round = 0; round < topN; ++round) {
        red[lane] = next < topN ? scan.top[next] : 0.0f;
        __syncwarp();
        int best = first;
        for (int l = first + 1; l < first + kStatsLanesPerPair; ++l)
            if (red[l] > red[best]) best = l;
        topSum += red[best];
        if (best == lane) ++next;
        __syncwarp();
    }
}

// The segment's statistics of one pair (the first of its four lanes writes them). A row that saw
// no key (its lse is not finite) has no distribution: NaN everywhere.
ATTN_DEV void writeSegment(const QueryStatsArgs& a, const StatsSegment& seg, const StatsPair& pair, float mass,
                           float topSum) {
    const bool hasKeys = isfinite(pair.lse);
    const std::size_t hq = static_cast<std::size_t>(pair.h) * (a.g.tokens - a.vis.queryBegin) + pair.q;
    if (seg.chunk < 0) {
        float* out = seg.chunk == kPrefixSegment ? a.prefixMass : a.queryMass;
        if (out) out[hq] = hasKeys ? mass : NAN;
        return;
    }
    if (a.chunkMass) a.chunkMass[hq * a.vis.chunks + seg.chunk] = hasKeys ? mass : NAN;
    if (!a.score) return;
    float s = mass;
    if (a.scoreMode == ChunkScore::TopN) s = topSum;
    else if (a.scoreMode == ChunkScore::Mean)
        s = seg.end > seg.begin ? mass / static_cast<float>(seg.end - seg.begin) : 0.0f;
    a.score[hq * a.vis.chunks + seg.chunk] = hasKeys ? s : NAN;
}

// Scan of one segment over the block's key span, tile by tile.
template <typename T>
ATTN_DEV void scanSegment(const QueryStatsArgs& a, const StatsBlock& blk, const StatsSegment& seg, const KeySpan& span,
                          const StatsPair* pairs, int topN, const StatsShared& sh, SegmentScan& scan) {
    const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
    scan.sum = 0;
    for (int e = 0; e < topN; ++e) scan.top[e] = 0.0f;
    const int end = imin(seg.end, span.hi);
    for (int k0 = imax(seg.begin, span.lo); k0 < end; k0 += kStatsKeyTile) {
        const unsigned bits = pairKeyBits(a, pairs, k0 + lane, end);
        if (!__syncthreads_or(bits != 0)) continue;  // no pair of the block sees this tile
        loadStatsKeyTile<T>(a, blk.kvh, k0, sh);
        __syncthreads();
        scoreStatsTile(a.g.headDim, blk.pairs, warp, lane, bits, pairs, sh);
        __syncwarp();
        scanStatsTile(warp, lane, topN, sh, scan);
        __syncthreads();  // the next tile overwrites ks and ps
    }
}

template <typename T>
__global__ void __launch_bounds__(kStatsMaxWarps * 32) queryStatsKernel(QueryStatsArgs a) {
    const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
    StatsBlock blk;
    blk.kvh = static_cast<int>(blockIdx.y);
    blk.group = a.g.heads / a.g.kvHeads;
    blk.pairs = static_cast<int>(blockDim.x) / 32 * kStatsPairsPerWarp;
    blk.p0 = static_cast<int>(blockIdx.x) * blk.pairs;
    blk.queries = a.g.tokens - a.vis.queryBegin;
    const StatsShared sh = statsShared(a.g.headDim, blk.pairs, warp);
    StatsPair pairs[kStatsPairsPerWarp];  // the warp's pairs (scoring)
    loadStatsPairs<T>(a, blk, warp, sh, pairs);
    const StatsPair mine =
        statsPair(a, blk, blk.p0 + warp * kStatsPairsPerWarp + lane / kStatsLanesPerPair);  // scanning
    const KeySpan span = statsKeySpan(a, blk);
    __syncthreads();

    const int topN = a.score && a.scoreMode == ChunkScore::TopN ? a.scoreTopN : 0;
    SegmentScan scan;
    for (int s = 0; s < a.vis.chunks + 2; ++s) {
        const StatsSegment seg = statsSegment(a, s);
        const int segTopN = seg.chunk >= 0 ? topN : 0;  // the score is for chunks only
        scanSegment<T>(a, blk, seg, span, pairs, segTopN, sh, scan);
        float mass, topSum;
        mergeSegment(lane, segTopN, scan, sh.red, mass, topSum);
        if (lane % kStatsLanesPerPair == 0 && mine.valid) writeSegment(a, seg, mine, mass, topSum);
    }
}

// Tile: block = (row bin, part of its rows, group of column bins). Each thread takes a
// contiguous slice of the visible columns of the current row and adds cell values into the
// block's bins in shared memory, flushing when the bin changes; the block then adds its bins
// into `out` with one atomic per bin.
constexpr int kTileThreads = 128;
constexpr int kTileColBins = 2048;

template <typename T>
__global__ void __launch_bounds__(kTileThreads) attentionTileKernel(TileArgs a) {
    const AttentionGeometry& g = a.g;
    const int hd = g.headDim, tid = static_cast<int>(threadIdx.x);
    const int r = static_cast<int>(blockIdx.x), parts = static_cast<int>(gridDim.y),
              part = static_cast<int>(blockIdx.y);
    const long long nr = a.rowEnd - a.rowBegin, nc = a.colEnd - a.colBegin;
    const int binLo = a.rowBegin + static_cast<int>(r * nr / a.outRows);
    const int binHi = a.rowBegin + static_cast<int>((r + 1) * nr / a.outRows);
    const int iLo = binLo + static_cast<int>(static_cast<long long>(binHi - binLo) * part / parts);
    const int iHi = binLo + static_cast<int>(static_cast<long long>(binHi - binLo) * (part + 1) / parts);
    const int cb0 = static_cast<int>(blockIdx.z) * kTileColBins;
    const int cb1 = imin(a.outCols, cb0 + kTileColBins);
    const int cLo = a.colBegin + static_cast<int>(cb0 * nc / a.outCols);
    const int cHi = a.colBegin + static_cast<int>(cb1 * nc / a.outCols);
    const int h0 = a.head < 0 ? 0 : a.head, h1 = a.head < 0 ? g.heads : a.head + 1, nh = h1 - h0;
    const float headScale = 1.0f / static_cast<float>(nh);

    float* qsm = dynamicShared<float>();  // [nh][hd] query of the current row · scale
    float* acc = qsm + nh * hd;           // [cb1 - cb0] bins of this block
    for (int b = tid; b < cb1 - cb0; b += kTileThreads) acc[b] = 0.0f;

    for (int i = iLo; i < iHi; ++i) {
        __syncthreads();  // everyone is done with the previous row's queries
        for (int idx = tid; idx < nh * hd; idx += kTileThreads)
            qsm[idx] = ld(rowPtr<T>(a.q, i) + static_cast<std::size_t>(h0) * hd + idx) * g.scale;
        __syncthreads();
        const int rowA = a.vis.rowKeys[2 * i], rowB = a.vis.rowKeys[2 * i + 1];
        const int lo = windowStart(i, g.window, a.vis.windowPositions);
        // Visible columns of row i inside [cLo, cHi): [r1b, r1e) ∪ [r2b, r2e).
        const int r1b = imax(cLo, lo), r1e = imin(imin(cHi, rowA), i + 1);
        const int r2b = imax(imax(imax(cLo, rowB), lo), r1e), r2e = imin(cHi, i + 1);
        const int len1 = imax(0, r1e - r1b), len2 = imax(0, r2e - r2b), total = len1 + len2;
        const int v0 = static_cast<int>(static_cast<long long>(total) * tid / kTileThreads);
        const int v1 = static_cast<int>(static_cast<long long>(total) * (tid + 1) / kTileThreads);
        int curBin = -1;
        float partial = 0;
        for (int v = v0; v < v1; ++v) {
            const int j = v < len1 ? r1b + v : r2b + (v - len1);
            float val = 0;
            const bool seen = inWindow(i, j, g.window, a.vis.windowPositions);  // the position rule's gaps
            for (int hh = h0; hh < h1 && seen; ++hh) {
                if (!keyKept(a.vis, selectionRow(a.vis, g.tokens, hh, i), j)) continue;
                const int kvh = hh / (g.heads / g.kvHeads);
                const T* kr = rowPtr<T>(a.k, j) + static_cast<std::size_t>(kvh) * hd;
                const float* qv = qsm + (hh - h0) * hd;
                float s = 0;
                for (int d = 0; d < hd; ++d) s += qv[d] * ld(kr + d);
                val += expf(s - a.lse[static_cast<std::size_t>(hh) * g.tokens + i]);
            }
            val *= headScale;
            const int bin =
                static_cast<int>(((static_cast<long long>(j - a.colBegin) + 1) * a.outCols + nc - 1) / nc) - 1 - cb0;
            if (bin != curBin) {
                if (curBin >= 0) {
                    if (a.maxPool) atomicMaxNonNegative(&acc[curBin], partial);
                    else atomicAdd(&acc[curBin], partial);
                }
                curBin = bin;
                partial = 0;
            }
            partial = a.maxPool ? fmaxf(partial, val) : partial + val;
        }
        if (curBin >= 0) {
            if (a.maxPool) atomicMaxNonNegative(&acc[curBin], partial);
            else atomicAdd(&acc[curBin], partial);
        }
    }
    __syncthreads();
    for (int b = tid; b < cb1 - cb0; b += kTileThreads) {
        float* dst = a.out + static_cast<std::size_t>(r) * a.outCols + cb0 + b;
        if (a.maxPool) atomicMaxNonNegative(dst, acc[b]);
        else atomicAdd(dst, acc[b]);
    }
}

// ---- dispatch helpers ------------------------------------------------------------------------

template <typename F>
cudaError_t withType(ElemType t, F&& f) {
    switch (t) {
        case ElemType::F32: return f(static_cast<float*>(nullptr));
        case ElemType::F16: return f(static_cast<f16*>(nullptr));
        case ElemType::BF16: return f(static_cast<bf16*>(nullptr));
    }
    return cudaErrorInvalidValue;
}

template <typename K>
cudaError_t allowSharedMemory(K kernel, std::size_t bytes) {
    if (bytes <= 48 * 1024) return cudaSuccess;
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

template <typename T, int DPL>
cudaError_t attentionForwardTyped(const AttentionForwardArgs& args, cudaStream_t stream) {
    auto kernel = attentionForwardKernel<T, DPL>;
    const std::size_t smem = attentionForwardSharedBytes(args.g.headDim);
    if (cudaError_t e = allowSharedMemory(kernel, smem); e != cudaSuccess) return e;
    const dim3 grid(static_cast<unsigned>((args.rowEnd - args.rowBegin + kAttnRows - 1) / kAttnRows),
                    static_cast<unsigned>(args.g.heads));
    ATTN_LAUNCH(kernel, grid, dim3(kAttnWarps * 32), smem, stream, args);
    return cudaGetLastError();
}

}  // namespace

// ---- launchers -----------------------------------------------------------------------------------

cudaError_t launchEmbed(ElemType type, const void* table, int dim, const int* ids, int n, float scale, float* x,
                        cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    return withType(type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = embedKernel<T>;
        ATTN_LAUNCH(kernel, elementwiseBlocks(static_cast<std::size_t>(n) * dim), kElementwiseThreads, 0, stream,
                    static_cast<const T*>(table), dim, ids, n, scale, x);
        return cudaGetLastError();
    });
}

cudaError_t launchRmsNorm(ElemType outType, const float* x, int rows, int cols, const float* w, bool addOne, float eps,
                          void* out, bool accumulate, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (accumulate && outType != ElemType::F32) return cudaErrorInvalidValue;
    return withType(outType, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = rmsNormKernel<T>;
        ATTN_LAUNCH(kernel, (rows + kNormWarps - 1) / kNormWarps, kNormWarps * 32, 0, stream, x, rows, cols, w,
                    addOne ? 1 : 0, eps, static_cast<T*>(out), accumulate ? 1 : 0);
        return cudaGetLastError();
    });
}

cudaError_t launchAddBias(float* y, int rows, int cols, const float* bias, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    auto kernel = addBiasKernel;
    ATTN_LAUNCH(kernel, elementwiseBlocks(static_cast<std::size_t>(rows) * cols), kElementwiseThreads, 0, stream, y,
                rows, cols, bias);
    return cudaGetLastError();
}

cudaError_t launchRope(ElemType outType, const float* x, int rows, int heads, int headDim, int ropeDim,
                       bool adjacentPairs, const float* cs, void* out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    return withType(outType, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = ropeKernel<T>;
        ATTN_LAUNCH(kernel, elementwiseBlocks(static_cast<std::size_t>(rows) * heads * headDim), kElementwiseThreads, 0,
                    stream, x, rows, heads, headDim, ropeDim, adjacentPairs ? 1 : 0, cs, static_cast<T*>(out));
        return cudaGetLastError();
    });
}

cudaError_t launchGatedActivation(ElemType outType, const float* gate, const float* up, std::size_t n, bool geluTanh,
                                  void* out, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    return withType(outType, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = gatedKernel<T>;
        ATTN_LAUNCH(kernel, elementwiseBlocks(n), kElementwiseThreads, 0, stream, gate, up, n, geluTanh ? 1 : 0,
                    static_cast<T*>(out));
        return cudaGetLastError();
    });
}

cudaError_t launchDequantQ8_0(ElemType outType, const std::uint8_t* blocks, std::size_t n, void* out,
                              cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (n % 32 != 0) return cudaErrorInvalidValue;
    return withType(outType, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = dequantQ8_0Kernel<T>;
        ATTN_LAUNCH(kernel, elementwiseBlocks(n), kElementwiseThreads, 0, stream, blocks, n, static_cast<T*>(out));
        return cudaGetLastError();
    });
}

cudaError_t launchConvert(ElemType outType, const float* in, std::size_t n, void* out, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    return withType(outType, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = convertKernel<T>;
        ATTN_LAUNCH(kernel, elementwiseBlocks(n), kElementwiseThreads, 0, stream, in, n, static_cast<T*>(out));
        return cudaGetLastError();
    });
}

cudaError_t launchNllArgmax(const float* logits, int rows, int vocab, const int* targets, float* nll, int* argmax,
                            cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    auto kernel = nllArgmaxKernel;
    ATTN_LAUNCH(kernel, static_cast<unsigned>(rows), kNllThreads, 0, stream, logits, vocab, targets, nll, argmax);
    return cudaGetLastError();
}

std::size_t attentionForwardSharedBytes(int headDim) {
    return sizeof(float) *
           (static_cast<std::size_t>(kAttnRows) * headDim + static_cast<std::size_t>(kKeyTile) * (headDim + 1) +
            static_cast<std::size_t>(kKeyTile) * headDim + kAttnWarps * 3 * kRowsPerWarp * 32);
}

cudaError_t launchAttentionForward(const AttentionForwardArgs& args, cudaStream_t stream) {
    if (args.rowEnd <= args.rowBegin) return cudaSuccess;
    const int hd = args.g.headDim;
    if (hd <= 0 || hd > kMaxHeadDim || args.g.kvHeads <= 0 || args.g.heads % args.g.kvHeads != 0)
        return cudaErrorInvalidValue;
    return withType(args.type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (hd <= 32) return attentionForwardTyped<T, 1>(args, stream);
        if (hd <= 64) return attentionForwardTyped<T, 2>(args, stream);
        if (hd <= 128) return attentionForwardTyped<T, 4>(args, stream);
        return attentionForwardTyped<T, 8>(args, stream);
    });
}

std::size_t queryStatsSharedBytes(int headDim) {
    const std::size_t pairs = static_cast<std::size_t>(statsWarps(headDim)) * kStatsPairsPerWarp;
    return sizeof(float) * (pairs * headDim + static_cast<std::size_t>(kStatsKeyTile) * (headDim + 1) +
                            pairs * kStatsScoreStride + pairs / kStatsPairsPerWarp * 32);
}

cudaError_t launchQueryStats(const QueryStatsArgs& args, cudaStream_t stream) {
    const int queries = args.g.tokens - args.vis.queryBegin;
    if (queries <= 0) return cudaSuccess;
    const int hd = args.g.headDim;
    if (hd <= 0 || hd > kMaxHeadDim || args.g.kvHeads <= 0 || args.g.heads % args.g.kvHeads != 0 ||
        (args.score && args.scoreMode == ChunkScore::TopN && (args.scoreTopN < 1 || args.scoreTopN > kMaxScoreTopN)))
        return cudaErrorInvalidValue;
    return withType(args.type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = queryStatsKernel<T>;
        const std::size_t smem = queryStatsSharedBytes(hd);
        if (cudaError_t e = allowSharedMemory(kernel, smem); e != cudaSuccess) return e;
        const long long pairs = static_cast<long long>(args.g.heads / args.g.kvHeads) * queries;
        const int pairsPerBlock = statsWarps(hd) * kStatsPairsPerWarp;
        const dim3 grid(static_cast<unsigned>((pairs + pairsPerBlock - 1) / pairsPerBlock),
                        static_cast<unsigned>(args.g.kvHeads));
        ATTN_LAUNCH(kernel, grid, dim3(statsWarps(hd) * 32), smem, stream, args);
        return cudaGetLastError();
    });
}

cudaError_t launchAttentionTile(const TileArgs& args, int multiProcessors, cudaStream_t stream) {
    if (args.outRows <= 0 || args.outCols <= 0) return cudaSuccess;
    if (args.g.headDim <= 0 || args.g.headDim > kMaxHeadDim || args.outRows > args.rowEnd - args.rowBegin ||
        args.outCols > args.colEnd - args.colBegin)
        return cudaErrorInvalidValue;
    const int nh = args.head < 0 ? args.g.heads : 1;
    const std::size_t smem = sizeof(float) * (static_cast<std::size_t>(nh) * args.g.headDim + kTileColBins);
    const unsigned colGroups = static_cast<unsigned>((args.outCols + kTileColBins - 1) / kTileColBins);
    // Enough blocks to fill the GPU: split the rows of each bin when there are few bins.
    const int rowsPerBin = (args.rowEnd - args.rowBegin + args.outRows - 1) / args.outRows;
    const long long target = 8ll * (multiProcessors > 0 ? multiProcessors : 16);
    long long parts = (target + static_cast<long long>(args.outRows) * colGroups - 1) /
                      (static_cast<long long>(args.outRows) * colGroups);
    if (parts > rowsPerBin) parts = rowsPerBin;
    if (parts > 65535) parts = 65535;
    if (parts < 1) parts = 1;
    return withType(args.type, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        auto kernel = attentionTileKernel<T>;
        if (cudaError_t e = allowSharedMemory(kernel, smem); e != cudaSuccess) return e;
        const dim3 grid(static_cast<unsigned>(args.outRows), static_cast<unsigned>(parts), colGroups);
        ATTN_LAUNCH(kernel, grid, dim3(kTileThreads), smem, stream, args);
        return cudaGetLastError();
    });
}

}  // namespace attnscope::cuda
