#pragma once
// Selective attention, host side (PAPER.md, "Selective attention"): the one home of the chunk
// score, the top-K choice, the per-layer aggregation and the renormalisation rule. The CPU
// backend and the CUDA backend's host code call it; the CUDA kernel that scores chunks on the
// device is held to chunkScore by tests/cuda (through the kernels' CPU twins).
//
// For one (head, query token) with attention probabilities p over its visible keys:
//  1. score each chunk m: s_m = the sum of the n largest p_j with j in chunk m (n = scoreTopN;
//     n <= 0: the chunk's mean probability over its whole length);
//  2. aggregation none: keep the K best chunks per (head, query); heads-queries: per layer,
//     score chunk m by the sum of its kAggregateTopN largest (head, query) scores and keep one
//     set of K chunks for every head and query token;
//  3. p_j = 0 for keys of the other chunks (never prefix or query keys), then
//     p ← p / max(Σp, 1e-5) (renormaliser in online_stats.h).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "plan/encoding_options.h"

namespace attnscope {

constexpr int kAggregateTopN = 5;  // heads-queries: top-5 (head, query) scores per chunk

// Does selection change anything for a plan with `chunks` chunks and `queries` query tokens?
bool selectionActive(const SelectiveAttention& sel, int chunks, int queries);

// Score of one chunk from the values of its visible keys (probabilities, or anything
// proportional to them): the sum of the scoreTopN largest, or (scoreTopN <= 0) their sum over
// chunkLength. 0 when no key is visible. `values` is reordered. (float: the CPU backend;
// double: the CUDA kernels' reference twins.)
template <typename T>
double chunkScore(std::vector<T>& values, int scoreTopN, int chunkLength) {
    if (values.empty() || chunkLength <= 0) return 0;
    if (scoreTopN <= 0) return std::accumulate(values.begin(), values.end(), 0.0) / chunkLength;
    const int n = std::min(scoreTopN, static_cast<int>(values.size()));
    std::nth_element(values.begin(), values.begin() + (n - 1), values.end(), std::greater<T>());
    return std::accumulate(values.begin(), values.begin() + n, 0.0);
}

// keep[c] = 1 for the k best chunks by score, 0 for the others; ties keep the lower index.
// `order` is scratch, reused across calls.
void keepTopK(const float* scores, int chunks, int k, std::uint8_t* keep, std::vector<int>& order);

// The chunks kept for every (head, query): scores [heads][queries][chunks] → keep, same shape.
void selectChunks(const float* scores, int heads, int queries, int chunks, const SelectiveAttention& sel,
                  std::uint8_t* keep);
// The choice of one forward call of a generation (PAPER.md, "Generation"): only the query rows
// [firstQuery, queries) of scores / keep [heads][queries][chunks] choose, among themselves;
// the other rows of keep are left as they are.
void selectChunksOfCall(const float* scores, int heads, int queries, int firstQuery, int chunks,
                        const SelectiveAttention& sel, std::uint8_t* keep);

}  // namespace attnscope
