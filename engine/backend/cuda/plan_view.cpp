#include "backend/cuda/plan_view.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

namespace attnscope::cuda {

namespace {
Error layoutError(const std::string& why) {
    return makeError(ErrorKind::Internal, "the encoding plan is not laid out as [prefix | chunks | query]: " + why);
}
}  // namespace

Result<PlanView> makePlanView(const EncodingPlan& plan) {
    PlanView v;
    const int N = plan.tokenCount();
    const auto n = static_cast<std::size_t>(N);
    if (plan.segment.size() != n || plan.chunk.size() != n || plan.positions.size() != n)
        return layoutError("per-token arrays differ in length");
    v.tokens = N;
    v.prefixLength = plan.prefixLength;
    v.queryBegin = plan.queryBegin;
    v.queries = N - plan.queryBegin;
    v.chunks = plan.chunkCount();
    if (v.prefixLength < 0 || v.queryBegin < v.prefixLength || v.queryBegin > N)
        return layoutError("prefix length " + std::to_string(v.prefixLength) + " / query start " +
                           std::to_string(v.queryBegin) + " out of order");
    v.chunkBegin.assign(static_cast<std::size_t>(v.chunks) + 1, v.queryBegin);
    int expect = v.prefixLength;
    for (int c = 0; c < v.chunks; ++c) {
        const KeyRange& r = plan.chunkRanges[static_cast<std::size_t>(c)];
        if (r.begin != expect || r.end < r.begin) return layoutError("chunk " + std::to_string(c) + " is not contiguous");
        v.chunkBegin[static_cast<std::size_t>(c)] = r.begin;
        v.maxChunkLength = std::max(v.maxChunkLength, r.end - r.begin);
        expect = r.end;
    }
    if (expect != v.queryBegin) return layoutError("chunks do not end where the query starts");
    v.keyChunk.assign(n, -1);
    v.rowKeys.resize(2 * n);
    const bool parallel = plan.options.mode == EncodingMode::Parallel;
    for (int i = 0; i < N; ++i) {
        const auto si = static_cast<std::size_t>(i);
        const SegmentKind want = i < v.prefixLength ? SegmentKind::Prefix
                                 : i < v.queryBegin ? SegmentKind::Chunk
                                                    : SegmentKind::Query;
        if (plan.segment[si] != want) return layoutError("token " + std::to_string(i) + " is in the wrong segment");
        int a = i + 1, b = i + 1;
        if (want == SegmentKind::Chunk) {
            const int c = plan.chunk[si];
            if (c < 0 || c >= v.chunks || i < v.chunkBegin[static_cast<std::size_t>(c)] ||
                i >= plan.chunkRanges[static_cast<std::size_t>(c)].end)
                return layoutError("token " + std::to_string(i) + " has chunk id " + std::to_string(c) +
                                   " outside its chunk range");
            v.keyChunk[si] = c;
            if (parallel) {
                a = v.prefixLength;
                b = v.chunkBegin[static_cast<std::size_t>(c)];
            }
        }
        v.rowKeys[2 * si] = a;
        v.rowKeys[2 * si + 1] = b;
    }
    return v;
}

bool selectionActive(const SelectiveAttention& sel, int chunks, int queries) {
    return sel.enabled() && chunks > sel.topK && queries > 0;
}

namespace {
void topK(const float* scores, int P, int K, std::uint8_t* keep, std::vector<int>& order) {
    if (K >= P) {
        std::fill(keep, keep + P, std::uint8_t{1});
        return;
    }
    order.resize(static_cast<std::size_t>(P));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    std::fill(keep, keep + P, std::uint8_t{0});
    for (int i = 0; i < K; ++i) keep[order[static_cast<std::size_t>(i)]] = 1;
}
}  // namespace

void selectChunks(const float* scores, int heads, int queries, int chunks, const SelectiveAttention& sel,
                  std::uint8_t* keep) {
    const std::size_t rows = static_cast<std::size_t>(heads) * queries;
    const auto P = static_cast<std::size_t>(chunks);
    std::vector<int> order;
    if (sel.aggregation == SelectAggregation::None) {
        for (std::size_t hq = 0; hq < rows; ++hq) topK(scores + hq * P, chunks, sel.topK, keep + hq * P, order);
        return;
    }
    // heads-queries: score of chunk c = sum of its 5 largest per-(head, query) scores.
    constexpr int kAggregateTopN = 5;
    std::vector<float> layerScore(P), column;
    for (std::size_t c = 0; c < P; ++c) {
        column.clear();
        for (std::size_t hq = 0; hq < rows; ++hq) column.push_back(scores[hq * P + c]);
        const int n = std::min<int>(kAggregateTopN, static_cast<int>(column.size()));
        std::partial_sort(column.begin(), column.begin() + n, column.end(), std::greater<float>());
        double s = 0;
        for (int i = 0; i < n; ++i) s += column[static_cast<std::size_t>(i)];
        layerScore[c] = static_cast<float>(s);
    }
    std::vector<std::uint8_t> layerKeep(P);
    topK(layerScore.data(), chunks, sel.topK, layerKeep.data(), order);
    for (std::size_t hq = 0; hq < rows; ++hq) std::copy(layerKeep.begin(), layerKeep.end(), keep + hq * P);
}

}  // namespace attnscope::cuda
