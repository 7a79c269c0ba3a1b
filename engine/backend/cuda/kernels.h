#pragma once
// Host-callable launchers of the CUDA backend's kernels. Every pointer is device memory; every
// launcher enqueues on `stream` and returns the launch status (execution errors surface at the
// next synchronisation). Matrices are row-major; shapes are given in brackets, outermost first.
// "T" is the storage type chosen by ElemType (float, half or bfloat16); reductions, softmax
// and accumulators are float32 everywhere. Each kernel has a plain CPU twin in
// kernels_reference.h with the same arguments (host pointers), used by the tests.
#include <cstddef>
#include <cstdint>

#include "backend/cuda/cuda_compat.h"

namespace attnscope::cuda {

// Rows of a token-major matrix held in two buffers: token t < split is row t of `head`, token
// t >= split is row t - split of `tail` (context rows and query rows are kept apart so that a
// query-only rerun can reuse the context). Every row has `stride` elements of the storage type.
struct TokenRows {
    const void* head = nullptr;
    const void* tail = nullptr;
    int split = 0;
    int stride = 0;
};

struct AttentionGeometry {
    int tokens = 0;      // N
    int heads = 0;       // query heads H
    int kvHeads = 0;     // key/value heads; query head h reads KV head h / (H / kvHeads)
    int headDim = 0;     // hd <= kMaxHeadDim
    float scale = 1.0f;  // score = scale · q·k
    int window = 0;      // sliding window (plan/visibility.h; 0 = none), measured as VisibilityArgs says
};

// The plan's visibility rule, without any N×N mask: row i sees keys [0, a_i) ∪ [b_i, i]
// (full mode and prefix/query rows: a_i = b_i = i + 1; a chunk row in parallel mode: a_i =
// prefix length, b_i = its chunk's first token). Query rows may further drop whole chunks. A
// sliding window measures i − j, or pos(i) − pos(j) under the position rule (plan/visibility.h).
// Declared in this order so that a plain initialiser list leaves windowPositions null.
struct VisibilityArgs {
    const int* rowKeys = nullptr;            // [N][2]: a_i, b_i
    const int* keyChunk = nullptr;           // [N]: chunk index of each token, -1 outside chunks
    const std::uint8_t* selected = nullptr;  // [H][Q][P]: chunks kept for query rows; null = all
    int queryBegin = 0;                      // first query token; Q = N - queryBegin
    int chunks = 0;                          // P
    const int* windowPositions = nullptr;    // [N]: position ids under the position rule; null: physical
};

constexpr int kMaxHeadDim = 256;
constexpr int kMaxScoreTopN = 32;

// ---- layers ----------------------------------------------------------------------------------

// x[i][c] = table[ids[i]][c] · scale.  table [vocab][dim] T, ids [n], x [n][dim] float.
cudaError_t launchEmbed(ElemType type, const void* table, int dim, const int* ids, int n, float scale, float* x,
                        cudaStream_t stream);

// out[r][c] (+)= x[r][c] / sqrt(mean_c x[r][c]² + eps) · (w[c] or 1 + w[c]).
// x [rows][cols] float, w [cols] float, out [rows][cols] of outType (accumulate: float only).
// out may equal x.
cudaError_t launchRmsNorm(ElemType outType, const float* x, int rows, int cols, const float* w, bool addOne, float eps,
                          void* out, bool accumulate, cudaStream_t stream);

// y[r][c] += bias[c].  y [rows][cols] float.
cudaError_t launchAddBias(float* y, int rows, int cols, const float* bias, cudaStream_t stream);

// Rotary embedding and conversion to the storage type. x [rows][heads·hd] float; cs
// [rows][ropeDim/2][2] (cos, sin of position · inverse frequency); out [rows][heads·hd] T.
// In each head, dims < ropeDim rotate in pairs (2p, 2p+1) (adjacentPairs) or (p, p + ropeDim/2)
// (rotate-half); dims >= ropeDim are copied. ropeDim = 0: plain conversion (values).
cudaError_t launchRope(ElemType outType, const float* x, int rows, int heads, int headDim, int ropeDim,
                       bool adjacentPairs, const float* cs, void* out, cudaStream_t stream);

// out[i] = act(gate[i]) · up[i]; act = SiLU or GELU(tanh).  gate, up [n] float, out [n] T.
cudaError_t launchGatedActivation(ElemType outType, const float* gate, const float* up, std::size_t n, bool geluTanh,
                                  void* out, cudaStream_t stream);

// GGUF Q8_0 blocks (34 bytes: f16 scale d, 32 int8 q; x = d·q) → n values of outType.
cudaError_t launchDequantQ8_0(ElemType outType, const std::uint8_t* blocks, std::size_t n, void* out,
                              cudaStream_t stream);

// out[i] = in[i] converted to outType.  in [n] float.
cudaError_t launchConvert(ElemType outType, const float* in, std::size_t n, void* out, cudaStream_t stream);

// For each row r of logits [rows][vocab]: argmax[r] = first index of the maximum;
// nll[r] = logsumexp(row) - row[targets[r]] when targets[r] >= 0 (left untouched otherwise).
cudaError_t launchNllArgmax(const float* logits, int rows, int vocab, const int* targets, float* nll, int* argmax,
                            cudaStream_t stream);

// ---- attention ---------------------------------------------------------------------------------

// Fused attention over rows [rowBegin, rowEnd) of every head, FlashAttention style: keys in
// tiles of 32, an online softmax per row (running max m, sum l = Σe^(s-m), and
// t = Σe^(s-m)·(s-m)), never an N×N matrix. A block starts at the first tile its rows can see
// (sliding window, physical rule), and a tile that no row of the block can see is skipped before its keys are
// loaded (most off-diagonal chunk tiles in parallel mode).
// Per row: out = Σ p·v, entropy = ln D·l/D - t/D (nats), lse = m + ln D, with D = l, or with
// `lseBefore` (the unselected log-sum-exp of the row) D = max(l, 1e-5·e^(lseBefore - m)): the
// renormalisation floor of selective attention, p ← p / max(Σp, 1e-5). A row that sees no key
// it keeps (no plan makes one: every row sees itself) gets NaN out, entropy and lse.
struct AttentionForwardArgs {
    ElemType type = ElemType::F32;  // of q, k, v and out
    AttentionGeometry g;
    VisibilityArgs vis;
    TokenRows q, k, v;  // q rows: H·hd, k/v rows: kvHeads·hd
    int rowBegin = 0, rowEnd = 0;
    const float* lseBefore = nullptr;  // [H][N] or null
    void* out = nullptr;               // [rows][H·hd]: row i at i - outRowOffset
    int outRowOffset = 0;
    float* entropy = nullptr;  // [H][N]
    float* lse = nullptr;      // [H][N]
};
cudaError_t launchAttentionForward(const AttentionForwardArgs& args, cudaStream_t stream);
std::size_t attentionForwardSharedBytes(int headDim);

// Statistics of query rows from their final normaliser (lse): p_j = e^(s_j - lse_i) over the
// visible, kept keys. Per chunk: mass Σp and the selection score (sum of the top-n p in the
// chunk; Mean: mass / chunk length; Sum: mass); prefix mass over [0, prefixLength); query mass
// over [queryBegin, i]. A block scores tiles of 32 keys, staged once in shared memory, against
// 32 or 64 (head, query row) pairs of the heads that share one KV head, from the first key its
// rows can see. A row whose lse is not finite (it saw no key) gets NaN statistics.
enum class ChunkScore { TopN = 0, Mean = 1, Sum = 2 };
struct QueryStatsArgs {
    ElemType type = ElemType::F32;
    AttentionGeometry g;
    VisibilityArgs vis;
    TokenRows q, k;
    int prefixLength = 0;
    const int* chunkBegin = nullptr;  // [P + 1]: chunk c = [chunkBegin[c], chunkBegin[c+1])
    const float* lse = nullptr;       // [H][N]
    ChunkScore scoreMode = ChunkScore::TopN;
    int scoreTopN = 5;            // 1..kMaxScoreTopN for TopN
    float* score = nullptr;       // [H][Q][P] or null
    float* chunkMass = nullptr;   // [H][Q][P] or null
    float* prefixMass = nullptr;  // [H][Q] or null
    float* queryMass = nullptr;   // [H][Q] or null
};
cudaError_t launchQueryStats(const QueryStatsArgs& args, cudaStream_t stream);
std::size_t queryStatsSharedBytes(int headDim);

// Pooled attention probabilities of a window [rowBegin, rowEnd) × [colBegin, colEnd) of one
// head (or the mean over heads), recomputed from Q, K and each row's lse. Bins follow
// edge[r] = begin + r·len/out. out [outRows][outCols] must be zero on entry; it receives per bin
// the sum of the cell values (mean pooling: the caller divides by the bin's cell count) or
// their maximum. Invisible and dropped cells count as 0.
struct TileArgs {
    ElemType type = ElemType::F32;
    AttentionGeometry g;
    VisibilityArgs vis;
    TokenRows q, k;
    const float* lse = nullptr;  // [H][N]
    int head = -1;               // -1: mean over heads
    int rowBegin = 0, rowEnd = 0, colBegin = 0, colEnd = 0;
    int outRows = 0, outCols = 0;
    bool maxPool = false;
    float* out = nullptr;
};
cudaError_t launchAttentionTile(const TileArgs& args, int multiProcessors, cudaStream_t stream);

}  // namespace attnscope::cuda
