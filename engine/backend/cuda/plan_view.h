#pragma once
// The plan in the form the CUDA kernels read it: the visibility rule (plan/visibility.h) as two
// key ranges per row, each key's chunk, the chunk boundaries. Plain C++ (no CUDA): compiled
// into the plugin and into the tests.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "plan/encoding_options.h"
#include "plan/encoding_plan.h"

namespace attnscope::cuda {

struct PlanView {
    int tokens = 0;        // N
    int prefixLength = 0;  // S: tokens [0, S) are the prefix
    int queryBegin = 0;    // query tokens [queryBegin, N)
    int queries = 0;       // Q
    int chunks = 0;        // P
    int maxChunkLength = 0;
    // Row i sees keys [0, rowKeys[2i]) ∪ [rowKeys[2i+1], i] (plan/visibility.h rowKeys, before
    // any sliding window or selection). [N][2]
    std::vector<int> rowKeys;
    std::vector<int> keyChunk;    // [N]: chunk of each token, -1 for prefix and query tokens
    std::vector<int> chunkBegin;  // [P + 1]: chunk c = [chunkBegin[c], chunkBegin[c+1])
    // [N]: the position ids the sliding window measures under the position rule; empty under the
    // physical rule (plan/visibility.h windowPositions).
    std::vector<int> windowPositions;
};

// The view of a plan, after EncodingPlan::validateLayout (Internal errors name what is
// inconsistent).
Result<PlanView> makePlanView(const EncodingPlan& plan);

}  // namespace attnscope::cuda
