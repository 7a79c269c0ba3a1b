#pragma once
// The plan in the form the CUDA kernels read it, and the host-side rules they share with the
// CPU backend: visibility as two key ranges per row, rotary tables, chunk selection.
// Plain C++ (no CUDA): compiled into the plugin and into the tests.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "model/model_config.h"
#include "plan/encoding_options.h"
#include "plan/encoding_plan.h"

namespace attnscope::cuda {

struct PlanView {
    int tokens = 0;                // N
    int prefixLength = 0;          // S: tokens [0, S) are the prefix
    int queryBegin = 0;            // query tokens [queryBegin, N)
    int queries = 0;               // Q
    int chunks = 0;                // P
    int maxChunkLength = 0;
    // Row i sees keys [0, rowKeys[2i]) ∪ [rowKeys[2i+1], i] (EncodingPlan::visible, before any
    // sliding window or selection). [N][2]
    std::vector<int> rowKeys;
    std::vector<int> keyChunk;     // [N]: chunk of each token, -1 for prefix and query tokens
    std::vector<int> chunkBegin;   // [P + 1]: chunk c = [chunkBegin[c], chunkBegin[c+1])
};

// Checks the plan's physical layout [prefix | chunk 0 | ... | chunk P-1 | query] and derives
// the view. Errors (Internal) name what is inconsistent.
Result<PlanView> makePlanView(const EncodingPlan& plan);

// Does selective attention run for this plan? (enabled, more chunks than K, a query).
bool selectionActive(const SelectiveAttention& sel, int chunks, int queries);
// Chunk selection from scores [H][Q][P] → keep [H][Q][P]: per (head, query) top-K (aggregation
// none), or once per layer from the per-chunk sum of its 5 largest (head, query) scores
// (heads-queries). Ties keep the lower chunk index.
void selectChunks(const float* scores, int heads, int queries, int chunks, const SelectiveAttention& sel,
                  std::uint8_t* keep);

}  // namespace attnscope::cuda
