#pragma once
// AnalysisResult: the statistics of one run over an EncodingPlan. An immutable value once
// produced; widgets and writers read it, nobody mutates it. No N×N matrices: attention
// probabilities are recomputed on demand as pooled tiles (attention_tile.h).
//
// Index order is given in brackets; all arrays are dense, row-major in that order.
// "q" indexes query tokens (0 = the first query token, physical token queryBegin + q).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "plan/encoding_plan.h"

namespace attnscope {

struct AnalysisResult {
    int layers = 0, heads = 0, tokens = 0, chunks = 0;
    int queryBegin = 0;  // physical index of the first query token
    int queries() const { return tokens - queryBegin; }

    // Attention entropy in nats, every (layer, head, token), after selective attention for query
    // tokens. [layer][head][token]
    std::vector<float> entropy;
    // Share of attention each query token puts on each chunk (after selection; sums with
    // prefixMass and queryMass to 1). [layer][head][q][chunk]
    std::vector<float> chunkMass;
    std::vector<float> prefixMass;  // [layer][head][q] share on the sink prefix
    std::vector<float> queryMass;   // [layer][head][q] share on query tokens (itself included)
    // Chunks kept by selective attention (1) or dropped (0); all 1 when selection is off.
    // [layer][head][q][chunk]
    std::vector<std::uint8_t> selected;
    // −ln p(query token q+1 | everything before it) from the logits at query token q; NaN for the
    // last query token. [q]
    std::vector<float> nllNext;
    std::vector<std::int32_t> argmaxNext;  // [q] arg-max of those logits
    // ln softmax(logits) of every query token, only when RunRequest::keepQueryLogProbs asked
    // for it (empty otherwise). [q][vocab]
    std::vector<float> queryLogProbs;

    std::string backend;         // e.g. "cpu (2 threads)"
    double elapsedMs = 0;        // wall time of the run
    bool reusedContext = false;  // only the query pass ran (context state reused)

    // An empty result shaped for `plan`: every array sized, statistics 0, every chunk selected.
    static AnalysisResult shaped(const EncodingPlan& plan, int layers, int heads);

    // Accessors.
    float entropyAt(int layer, int head, int token) const {
        return entropy[(static_cast<std::size_t>(layer) * heads + head) * tokens + token];
    }
    float chunkMassAt(int layer, int head, int q, int c) const {
        return chunkMass[((static_cast<std::size_t>(layer) * heads + head) * queries() + q) * chunks + c];
    }
    bool selectedAt(int layer, int head, int q, int c) const {
        return selected[((static_cast<std::size_t>(layer) * heads + head) * queries() + q) * chunks + c] != 0;
    }
    // Mean over heads of the entropy of `token` at `layer` (the paper's Figure 1 curve).
    float headMeanEntropy(int layer, int token) const;
    // Mean over heads and query tokens at one layer (the paper's per-layer number).
    double layerQueryEntropy(int layer) const;
    // Mean over layers of layerQueryEntropy: the paper's headline "attention entropy".
    double meanQueryEntropy() const;
    // exp(mean NLL) over query tokens that have a next token; NaN if there is none.
    double perplexity() const;
    double meanNll() const;
};

}  // namespace attnscope
