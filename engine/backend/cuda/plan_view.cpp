#include "backend/cuda/plan_view.h"

#include <algorithm>

#include "plan/visibility.h"

namespace attnscope::cuda {

Result<PlanView> makePlanView(const EncodingPlan& plan) {
    ATTN_TRY(plan.validateLayout());
    PlanView v;
    const int N = plan.tokenCount();
    v.tokens = N;
    v.prefixLength = plan.prefixLength;
    v.queryBegin = plan.queryBegin;
    v.queries = plan.queryCount();
    v.chunks = plan.chunkCount();
    v.chunkBegin.assign(static_cast<std::size_t>(v.chunks) + 1, v.queryBegin);
    for (int c = 0; c < v.chunks; ++c) {
        const KeyRange& r = plan.chunkRanges[static_cast<std::size_t>(c)];
        v.chunkBegin[static_cast<std::size_t>(c)] = r.begin;
        v.maxChunkLength = std::max(v.maxChunkLength, r.end - r.begin);
    }
    v.keyChunk.assign(plan.chunk.begin(), plan.chunk.end());
    v.rowKeys.resize(2 * static_cast<std::size_t>(N));
    for (int i = 0; i < N; ++i) {
        const RowKeys k = rowKeys(plan, i);
        v.rowKeys[2 * static_cast<std::size_t>(i)] = k.a;
        v.rowKeys[2 * static_cast<std::size_t>(i) + 1] = k.b;
    }
    if (const int* positions = windowPositions(plan)) v.windowPositions.assign(positions, positions + N);
    return v;
}

}  // namespace attnscope::cuda
