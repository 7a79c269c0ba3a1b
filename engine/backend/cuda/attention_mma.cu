// Fused attention on tensor cores (attention_mma.h). The same rules as the FP32 kernel in
// kernels.cu — the mask (plan/visibility.h), the selection of kept chunks, the online softmax
// with its entropy term (analysis/online_stats.h) — on a FlashAttention-2 tiling: a block holds
// 4 warps × 16 query rows of one head; per key tile of 64 the block copies K and V to shared
// memory as 16-bit MMA inputs, and each warp forms S = Q·Kᵀ (mma.m16n8k16, Q kept in
// registers), masks and exponentiates it in registers, folds the tile into its rows' (m, l, t)
// and adds P·V (P rounded to the MMA type) to its float32 output accumulators.
//
// The warp-wide MMA is one function, mmaM16n8k16: inline PTX on the GPU and, in the CPU
// emulator, the same operation computed from the fragments the 32 lanes publish to a per-warp
// scratch, so the tiling, fragment indexing and softmax code below run unchanged on the CPU.
#include "backend/cuda/attention_mma.h"

#include <cstring>
#include <type_traits>

#include "analysis/online_stats.h"
#include "backend/cuda/kernel_rows.h"
#include "plan/visibility.h"

#if defined(__CUDACC__)
#define ATTN_UNROLL _Pragma("unroll")
#else
#define ATTN_UNROLL
#endif

namespace attnscope::cuda {

namespace {

constexpr int kMmaWarps = 4;
constexpr int kWarpRows = 16;                      // query rows per warp: the MMA's M
constexpr int kBlockRows = kMmaWarps * kWarpRows;  // query rows per block
constexpr int kTileKeys = 64;                      // keys per tile
constexpr int kKeyGroups = kTileKeys / 8;          // n-tiles of S (8 keys each)
constexpr int kSmemPad = 8;                        // 16-bit elements after each K/V row in shared memory

// The MMA input type for a storage type: f16 stays f16, bf16 and f32 go through bf16.
template <typename T>
struct MmaInputOf {
    using type = bf16;
};
template <>
struct MmaInputOf<f16> {
    using type = f16;
};

// ---- the fragment layout of mma.m16n8k16 with 16-bit inputs (PTX ISA) ----------------------------
// lane = 4·group + quad. Each 32-bit register holds two consecutive elements, the lower index in
// the low 16 bits.
// A (16×16, row-major): register r (0..3) holds A[aRow][aCol], A[aRow][aCol + 1].
ATTN_DEV int aRow(int lane, int r) { return (lane >> 2) + 8 * (r & 1); }
ATTN_DEV int aCol(int lane, int r) { return 2 * (lane & 3) + 8 * (r >> 1); }
// B (16×8, column-major): register r (0..1) holds B[bRow][bCol], B[bRow + 1][bCol].
ATTN_DEV int bRow(int lane, int r) { return 2 * (lane & 3) + 8 * r; }
ATTN_DEV int bCol(int lane) { return lane >> 2; }
// C and D (16×8, float): element e (0..3) is C[cRow][cCol].
ATTN_DEV int cRow(int lane, int e) { return (lane >> 2) + 8 * (e >> 1); }
ATTN_DEV int cCol(int lane, int e) { return 2 * (lane & 3) + (e & 1); }

// ---- 16-bit packing ------------------------------------------------------------------------------

template <typename M>
ATTN_DEV std::uint32_t bitsOf(float v) {
    if constexpr (std::is_same_v<M, f16>) return __half_as_ushort(__float2half_rn(v));
    else return __bfloat16_as_ushort(__float2bfloat16_rn(v));
}

template <typename M>
ATTN_DEV std::uint32_t packPair(float lo, float hi) {
    return bitsOf<M>(lo) | (bitsOf<M>(hi) << 16);
}

ATTN_DEV std::uint32_t load32(const void* p) {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
#else
    return *static_cast<const std::uint32_t*>(p);
#endif
}

// Elements p[0], p[1] of the storage type as one register of MMA inputs.
template <typename T, typename M>
ATTN_DEV std::uint32_t loadPair(const T* p) {
    if constexpr (std::is_same_v<T, M>) return load32(p);
    else return packPair<M>(ld(p), ld(p + 1));
}

// ---- the warp-wide MMA ---------------------------------------------------------------------------

#if defined(ATTNSCOPE_CUDA_EMULATION)
template <typename M>
float unpackHalf(std::uint32_t word, int half) {
    const auto bits = static_cast<std::uint16_t>(half ? word >> 16 : word & 0xFFFFu);
    if constexpr (std::is_same_v<M, f16>) return emu::halfBitsToFloat(bits);
    const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &wide, sizeof f);
    return f;
}

// Every lane publishes its A and B registers to the warp's scratch; after the warp barrier each
// lane rebuilds A and B through the layout functions above and forms its own four D entries in
// float32; a second barrier frees the scratch.
template <typename M>
void mmaEmulated(float d[4], const std::uint32_t a[4], const std::uint32_t b[2]) {
    std::uint32_t* scratch = emu::warpScratch();  // [32][4] A registers, then [32][2] B registers
    const int lane = static_cast<int>(threadIdx.x) % 32;
    for (int r = 0; r < 4; ++r) scratch[lane * 4 + r] = a[r];
    for (int r = 0; r < 2; ++r) scratch[128 + lane * 2 + r] = b[r];
    __syncwarp();
    float A[16][16], B[16][8];
    for (int l = 0; l < 32; ++l)
        for (int half = 0; half < 2; ++half) {
            for (int r = 0; r < 4; ++r) A[aRow(l, r)][aCol(l, r) + half] = unpackHalf<M>(scratch[l * 4 + r], half);
            for (int r = 0; r < 2; ++r) B[bRow(l, r) + half][bCol(l)] = unpackHalf<M>(scratch[128 + l * 2 + r], half);
        }
    __syncwarp();
    for (int e = 0; e < 4; ++e) {
        float acc = 0;
        for (int k = 0; k < 16; ++k) acc += A[cRow(lane, e)][k] * B[k][cCol(lane, e)];
        d[e] += acc;
    }
}
#endif

// d += A·B for one warp (A 16×16, B 16×8 in 16-bit M, d float), fragments as laid out above.
template <typename M>
ATTN_DEV void mmaM16n8k16(float d[4], const std::uint32_t a[4], const std::uint32_t b[2]) {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    mmaEmulated<M>(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (std::is_same_v<M, f16>)
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(__CUDA_ARCH__)
    __trap();  // the backend refuses GPUs older than sm_80
#endif
}

// Maximum and sum over the 4 lanes of a quad (the lanes that share a row of C).
ATTN_DEV float quadMax(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
ATTN_DEV float quadSum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// ---- rows and tiles ------------------------------------------------------------------------------

// One of the two rows a lane holds (C rows group and group + 8 of its warp); identical in the 4
// lanes of a quad.
struct MmaRow {
    int i = 0, a = 0, b = 0;  // token; keys [0, a) ∪ [b, i] (plan/visibility.h)
    bool valid = false;
    const std::uint8_t* sel = nullptr;
    OnlineStats stats;
};

ATTN_DEV bool rowSees(const AttentionForwardArgs& a, const MmaRow& row, int j) {
    return row.valid && j < a.g.tokens && keyVisible(row.i, j, row.a, row.b, a.g.window, a.vis.windowPositions) &&
           keyKept(a.vis, row.sel, j);
}

// The valid rows [first, last] of a warp, summarised for classifying key tiles (same in all lanes).
struct WarpRows {
    int first = 0, last = -1;
    int aMin = 0x7fffffff, aMax = 0, bMin = 0x7fffffff, bMax = 0;
    bool selecting = false;  // some row drops chunks
};

ATTN_DEV WarpRows warpRows(const AttentionForwardArgs& a, int h, int wrow0) {
    WarpRows w;
    w.first = wrow0;
    w.last = imin(wrow0 + kWarpRows, a.rowEnd) - 1;
    for (int i = w.first; i <= w.last; ++i) {
        const int ra = a.vis.rowKeys[2 * i], rb = a.vis.rowKeys[2 * i + 1];
        w.aMin = imin(w.aMin, ra);
        w.aMax = imax(w.aMax, ra);
        w.bMin = imin(w.bMin, rb);
        w.bMax = imax(w.bMax, rb);
        w.selecting = w.selecting || selectionRow(a.vis, a.g.tokens, h, i) != nullptr;
    }
    return w;
}

enum TileCover { kSeesNone = 0, kSeesSome = 1, kSeesAll = 2 };

// What the warp's rows see of keys [k0, k0 + kTileKeys): surely nothing, perhaps some (mask each
// score), or surely all. Row i sees [windowStart(i), a) ∪ [max(b, windowStart(i)), i] under the
// physical rule; under the position rule the window is no range, so no tile is surely all.
ATTN_DEV int tileCover(const WarpRows& w, int k0, int tokens, int window, const int* positions) {
    const int k1 = k0 + kTileKeys - 1;  // last key of the tile
    if (w.last < w.first || k0 > w.last || k1 < windowStart(w.first, window, positions)) return kSeesNone;
    if (k0 >= w.aMax && k1 < w.bMin) return kSeesNone;
    const bool all = !w.selecting && k1 < tokens && k1 <= w.first && windowKeepsFrom(k0, w.last, window, positions) &&
                     (k1 < w.aMin || k0 >= w.bMax);
    return all ? kSeesAll : kSeesSome;
}

// ---- shared memory and loads ---------------------------------------------------------------------

// K and V of the current tile as 16-bit MMA inputs, [kTileKeys][hd + kSmemPad] each (the padding
// spreads a fragment's loads over all banks).
struct MmaTileSmem {
    std::uint32_t* k;
    std::uint32_t* v;
    int strideWords;
};

ATTN_DEV MmaTileSmem mmaTileSmem(int hd) {
    MmaTileSmem s;
    s.strideWords = (hd + kSmemPad) / 2;
    s.k = dynamicShared<std::uint32_t>();
    s.v = s.k + kTileKeys * s.strideWords;
    return s;
}

template <typename T, typename M>
ATTN_DEV void loadKeyValueTile(const AttentionForwardArgs& a, int kvh, int k0, const MmaTileSmem& sm) {
    const int hd = a.g.headDim, pairs = hd / 2;
    for (int idx = static_cast<int>(threadIdx.x); idx < kTileKeys * pairs; idx += static_cast<int>(blockDim.x)) {
        const int jj = idx / pairs, p = idx % pairs, key = k0 + jj;
        std::uint32_t kw = 0, vw = 0;
        if (key < a.g.tokens) {
            const std::size_t off = static_cast<std::size_t>(kvh) * hd + 2 * p;
            kw = loadPair<T, M>(rowPtr<T>(a.k, key) + off);
            vw = loadPair<T, M>(rowPtr<T>(a.v, key) + off);
        }
        sm.k[jj * sm.strideWords + p] = kw;
        sm.v[jj * sm.strideWords + p] = vw;
    }
}

// The warp's 16 query rows as A fragments, one per 16 dims (0 beyond the rows or the head).
template <typename T, typename M, int KS>
ATTN_DEV void loadQueryFragments(const AttentionForwardArgs& a, int h, int wrow0, int lane,
                                 std::uint32_t (&qf)[KS][4]) {
    const int hd = a.g.headDim;
    ATTN_UNROLL
    for (int ks = 0; ks < KS; ++ks) ATTN_UNROLL
    for (int r = 0; r < 4; ++r) {
        const int i = wrow0 + aRow(lane, r), d = ks * 16 + aCol(lane, r);
        qf[ks][r] =
            i < a.rowEnd && d < hd ? loadPair<T, M>(rowPtr<T>(a.q, i) + static_cast<std::size_t>(h) * hd + d) : 0u;
    }
}

ATTN_DEV void initRows(const AttentionForwardArgs& a, int h, int wrow0, int lane, MmaRow (&rows)[2]) {
    for (int r = 0; r < 2; ++r) {
        MmaRow& row = rows[r];
        row.i = wrow0 + cRow(lane, 2 * r);
        row.valid = row.i < a.rowEnd;
        row.a = row.valid ? a.vis.rowKeys[2 * row.i] : 0;
        row.b = row.valid ? a.vis.rowKeys[2 * row.i + 1] : 0;
        row.sel = row.valid ? selectionRow(a.vis, a.g.tokens, h, row.i) : nullptr;
    }
}

// ---- one key tile of one warp --------------------------------------------------------------------

// s = scale · Q·Kᵀ for the tile, −∞ where the row does not see or keep the key.
template <typename M, int KS>
ATTN_DEV void scoreTile(const AttentionForwardArgs& a, int k0, bool seesAll, int lane, const std::uint32_t (&qf)[KS][4],
                        const MmaTileSmem& sm, const MmaRow (&rows)[2], float (&s)[kKeyGroups][4]) {
    const int hd = a.g.headDim;
    ATTN_UNROLL
    for (int nt = 0; nt < kKeyGroups; ++nt) ATTN_UNROLL
    for (int e = 0; e < 4; ++e) s[nt][e] = 0;
    ATTN_UNROLL
    for (int ks = 0; ks < KS; ++ks) {
        if (ks * 16 >= hd) break;
        ATTN_UNROLL
        for (int nt = 0; nt < kKeyGroups; ++nt) {
            const std::uint32_t* kr = sm.k + (nt * 8 + bCol(lane)) * sm.strideWords + ks * 8;
            const std::uint32_t b[2] = {kr[bRow(lane, 0) / 2], kr[bRow(lane, 1) / 2]};
            mmaM16n8k16<M>(s[nt], qf[ks], b);
        }
    }
    ATTN_UNROLL
    for (int nt = 0; nt < kKeyGroups; ++nt) ATTN_UNROLL
    for (int e = 0; e < 4; ++e) {
        const int j = k0 + nt * 8 + cCol(lane, e);
        s[nt][e] = seesAll || rowSees(a, rows[e >> 1], j) ? s[nt][e] * a.g.scale : -INFINITY;
    }
}

// Online softmax: s becomes p = e^(s − m_new) (0 where masked); each row's (m, l, t) takes in the
// tile (online_stats.h) and the output accumulator is rescaled by e^(m − m_new).
template <int DT>
ATTN_DEV void softmaxTile(MmaRow (&rows)[2], float (&s)[kKeyGroups][4], float (&o)[DT][4]) {
    ATTN_UNROLL
    for (int r = 0; r < 2; ++r) {
        float tileMax = -INFINITY;
        ATTN_UNROLL
        for (int nt = 0; nt < kKeyGroups; ++nt) tileMax = fmaxf(tileMax, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
        const float mNew = fmaxf(rows[r].stats.m, quadMax(tileMax));
        float sumE = 0, sumES = 0;
        ATTN_UNROLL
        for (int nt = 0; nt < kKeyGroups; ++nt) ATTN_UNROLL
        for (int e = 2 * r; e < 2 * r + 2; ++e) {
            float p = 0;
            if (s[nt][e] != -INFINITY) {
                const float sm = s[nt][e] - mNew;
                p = expf(sm);
                sumE += p;
                sumES += p * sm;
            }
            s[nt][e] = p;
        }
        sumE = quadSum(sumE);  // every lane takes part in the shuffles
        sumES = quadSum(sumES);
        if (mNew == -INFINITY) continue;  // the row has seen no key yet
        const float c = rows[r].stats.absorb(mNew, sumE, sumES);
        ATTN_UNROLL
        for (int dt = 0; dt < DT; ++dt) {
            o[dt][2 * r] *= c;
            o[dt][2 * r + 1] *= c;
        }
    }
}

// o += P·V: the probabilities in C layout are, two n-tiles at a time, the A fragment of one k-step.
template <typename M, int DT>
ATTN_DEV void valueTile(int hd, int lane, const float (&p)[kKeyGroups][4], const MmaTileSmem& sm, float (&o)[DT][4]) {
    const auto* v16 = reinterpret_cast<const std::uint16_t*>(sm.v);
    const int stride = 2 * sm.strideWords;
    ATTN_UNROLL
    for (int ks = 0; ks < kTileKeys / 16; ++ks) {
        std::uint32_t pa[4];
        ATTN_UNROLL
        for (int r = 0; r < 4; ++r) {
            const float* pt = p[2 * ks + (r >> 1)];  // A column aCol(lane, r): key 16·ks + aCol
            pa[r] = packPair<M>(pt[2 * (r & 1)], pt[2 * (r & 1) + 1]);
        }
        ATTN_UNROLL
        for (int dt = 0; dt < DT; ++dt) {
            if (dt * 8 >= hd) break;
            const std::uint16_t* vc = v16 + (ks * 16) * stride + dt * 8 + bCol(lane);
            std::uint32_t b[2];
            ATTN_UNROLL
            for (int r = 0; r < 2; ++r) {
                const int key = bRow(lane, r);
                b[r] = static_cast<std::uint32_t>(vc[key * stride]) |
                       (static_cast<std::uint32_t>(vc[(key + 1) * stride]) << 16);
            }
            mmaM16n8k16<M>(o[dt], pa, b);
        }
    }
}

// out = o / D, entropy and lse of the lane's two rows; D = l, or with selection
// max(l, 1e-5 · e^(lseBefore − m)) (online_stats.h), in logs so that nothing overflows.
// Rows that saw no key are left untouched, as by the FP32 kernel.
template <typename T, int DT>
ATTN_DEV void writeRows(const AttentionForwardArgs& a, int h, int lane, const MmaRow (&rows)[2],
                        const float (&o)[DT][4]) {
    const int hd = a.g.headDim;
    for (int r = 0; r < 2; ++r) {
        const MmaRow& row = rows[r];
        if (!row.valid) continue;
        const std::size_t hi = static_cast<std::size_t>(h) * a.g.tokens + row.i;
        T* orow = static_cast<T*>(a.out) + static_cast<std::size_t>(row.i - a.outRowOffset) * a.g.heads * hd +
                  static_cast<std::size_t>(h) * hd;
        // A row that saw no key it keeps has no distribution: NaN everywhere, as the FP32 kernel.
        const bool seen = row.stats.l > 0;
        const float logL = seen ? logf(row.stats.l) : NAN;
        const float logD = seen && a.lseBefore ? logRenormaliser(logL, a.lseBefore[hi] - row.stats.m) : logL;
        const float invD = seen ? expf(-logD) : NAN;
        ATTN_UNROLL
        for (int dt = 0; dt < DT; ++dt) {
            if (dt * 8 >= hd) break;
            for (int e = 2 * r; e < 2 * r + 2; ++e) st(orow + dt * 8 + cCol(lane, e), o[dt][e] * invD);
        }
        if ((lane & 3) == 0) {
            a.entropy[hi] = seen ? entropyNatsLog(logL, row.stats.t, logD) : NAN;
            a.lse[hi] = seen ? row.stats.m + logD : NAN;
        }
    }
}

// ---- the kernels ---------------------------------------------------------------------------------

template <typename T, int DMAX>
__global__ void __launch_bounds__(kMmaWarps * 32) attentionMmaKernel(AttentionForwardArgs a) {
    using M = typename MmaInputOf<T>::type;
    constexpr int KS = DMAX / 16, DT = DMAX / 8;
    const int h = static_cast<int>(blockIdx.y), kvh = h / (a.g.heads / a.g.kvHeads);
    const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
    const int row0 = a.rowBegin + static_cast<int>(blockIdx.x) * kBlockRows, wrow0 = row0 + warp * kWarpRows;
    const MmaTileSmem sm = mmaTileSmem(a.g.headDim);
    std::uint32_t qf[KS][4];
    loadQueryFragments<T, M, KS>(a, h, wrow0, lane, qf);
    MmaRow rows[2];
    initRows(a, h, wrow0, lane, rows);
    const WarpRows wr = warpRows(a, h, wrow0);
    const BlockKeyTiles tiles = blockKeyTiles(a, row0, kBlockRows, kTileKeys);
    float o[DT][4];
    ATTN_UNROLL
    for (int dt = 0; dt < DT; ++dt) ATTN_UNROLL
    for (int e = 0; e < 4; ++e) o[dt][e] = 0;

    for (int ti = 0; ti < tiles.count(); ++ti) {
        const int k0 = tiles.start(ti);
        const int cover = tileCover(wr, k0, a.g.tokens, a.g.window, a.vis.windowPositions);
        // Also the barrier after the previous tile: nobody overwrites K and V still being read.
        if (!__syncthreads_or(cover != kSeesNone)) continue;
        loadKeyValueTile<T, M>(a, kvh, k0, sm);
        __syncthreads();
        if (cover == kSeesNone) continue;
        float s[kKeyGroups][4];
        scoreTile<M, KS>(a, k0, cover == kSeesAll, lane, qf, sm, rows, s);
        softmaxTile<DT>(rows, s, o);
        valueTile<M, DT>(a.g.headDim, lane, s, sm, o);
    }
    writeRows<T, DT>(a, h, lane, rows, o);
}

template <typename M>
__global__ void mmaFragmentCheckKernel(const float* a, const float* b, const float* c, float* d) {
    const int lane = static_cast<int>(threadIdx.x) % 32;
    std::uint32_t af[4], bf[2];
    float acc[4];
    for (int r = 0; r < 4; ++r)
        af[r] = packPair<M>(a[aRow(lane, r) * 16 + aCol(lane, r)], a[aRow(lane, r) * 16 + aCol(lane, r) + 1]);
    for (int r = 0; r < 2; ++r)
        bf[r] = packPair<M>(b[bRow(lane, r) * 8 + bCol(lane)], b[(bRow(lane, r) + 1) * 8 + bCol(lane)]);
    for (int e = 0; e < 4; ++e) acc[e] = c[cRow(lane, e) * 8 + cCol(lane, e)];
    mmaM16n8k16<M>(acc, af, bf);
    for (int e = 0; e < 4; ++e) d[cRow(lane, e) * 8 + cCol(lane, e)] = acc[e];
}

// ---- dispatch ------------------------------------------------------------------------------------

template <typename T, int DMAX>
cudaError_t attentionMmaTyped(const AttentionForwardArgs& args, cudaStream_t stream) {
    auto kernel = attentionMmaKernel<T, DMAX>;
    const std::size_t smem = attentionMmaSharedBytes(args.g.headDim);
    if (smem > 48 * 1024) {
        const cudaError_t e =
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
        if (e != cudaSuccess) return e;
    }
    const dim3 grid(static_cast<unsigned>((args.rowEnd - args.rowBegin + kBlockRows - 1) / kBlockRows),
                    static_cast<unsigned>(args.g.heads));
    ATTN_LAUNCH(kernel, grid, dim3(kMmaWarps * 32), smem, stream, args);
    return cudaGetLastError();
}

template <typename T>
cudaError_t attentionMmaForHeadDim(const AttentionForwardArgs& args, cudaStream_t stream) {
    if (args.g.headDim <= 64) return attentionMmaTyped<T, 64>(args, stream);
    if (args.g.headDim <= 128) return attentionMmaTyped<T, 128>(args, stream);
    return attentionMmaTyped<T, 256>(args, stream);
}

}  // namespace

bool attentionMmaSupports(int headDim) { return headDim > 0 && headDim % 16 == 0 && headDim <= kMaxHeadDim; }

std::size_t attentionMmaSharedBytes(int headDim) {
    return 2 * sizeof(std::uint16_t) * static_cast<std::size_t>(kTileKeys) * (headDim + kSmemPad);
}

cudaError_t launchAttentionForwardMma(const AttentionForwardArgs& args, cudaStream_t stream) {
    if (args.rowEnd <= args.rowBegin) return cudaSuccess;
    if (!attentionMmaSupports(args.g.headDim) || args.g.kvHeads <= 0 || args.g.heads % args.g.kvHeads != 0)
        return cudaErrorInvalidValue;
    switch (args.type) {
        case ElemType::F32: return attentionMmaForHeadDim<float>(args, stream);
        case ElemType::F16: return attentionMmaForHeadDim<f16>(args, stream);
        case ElemType::BF16: return attentionMmaForHeadDim<bf16>(args, stream);
    }
    return cudaErrorInvalidValue;
}

cudaError_t launchMmaFragmentCheck(ElemType type, const float* a, const float* b, const float* c, float* d,
                                   cudaStream_t stream) {
    if (type == ElemType::F16) {
        auto kernel = mmaFragmentCheckKernel<f16>;
        ATTN_LAUNCH(kernel, dim3(1), dim3(32), 0, stream, a, b, c, d);
    } else {
        auto kernel = mmaFragmentCheckKernel<bf16>;
        ATTN_LAUNCH(kernel, dim3(1), dim3(32), 0, stream, a, b, c, d);
    }
    return cudaGetLastError();
}

}  // namespace attnscope::cuda
