#pragma once
// Attention of one layer with the paper's statistics, computed row by row without ever holding
// an N×N matrix: for each (head, token) the scores over the token's visible keys are formed in a
// per-thread buffer of length ≤ N, turned into probabilities, optionally filtered by selective
// attention (query tokens only), and reduced to entropy, chunk masses and the value mix.
#include <cstdint>
#include <stop_token>
#include <vector>

#include "core/thread_pool.h"
#include "model/model_config.h"
#include "plan/encoding_plan.h"

namespace attnscope::cpu {

struct AttentionLayerIo {
    const EncodingPlan* plan = nullptr;
    const ModelConfig* cfg = nullptr;
    int window = 0;            // sliding window (keys with i - j < window); 0 = none
    const float* q = nullptr;  // [N][nHeads*headDim], post-RoPE
    const float* k = nullptr;  // [N][nKvHeads*headDim], post-RoPE
    const float* v = nullptr;  // [N][nKvHeads*headDim]
    // Compute rows [rowBegin, N): all, the query rows (context reused), or a decode call's last
    // row. Selective attention makes one choice for the query rows among them (one forward call).
    int rowBegin = 0;
    float* out = nullptr;  // [N][nHeads*headDim] value mix (rows >= rowBegin written)
    // Statistics of this layer (may be null when not wanted):
    float* entropy = nullptr;          // [head][N]
    float* chunkMass = nullptr;        // [head][Q][P]
    float* prefixMass = nullptr;       // [head][Q]
    float* queryMass = nullptr;        // [head][Q]
    std::uint8_t* selected = nullptr;  // [head][Q][P], written when selection runs (else all 1)
};

void attentionLayer(ThreadPool& pool, const AttentionLayerIo& io);

// One attention row: probabilities of token `row` for query head `head` over keys [0, row],
// zero where invisible or dropped by selection (keep = [P] mask or null). Returns the values in
// `probs` (length row+1). Used for tiles; same arithmetic as attentionLayer.
void attentionRow(const EncodingPlan& plan, const ModelConfig& cfg, int window, const float* q, const float* k,
                  int head, int row, const std::uint8_t* keep, std::vector<float>& probs);

}  // namespace attnscope::cpu
