#include "plan/visibility.h"

#include <algorithm>

namespace attnscope {

RowKeys rowKeys(const EncodingPlan& plan, int i) {
    const auto si = static_cast<std::size_t>(i);
    if (plan.options.mode == EncodingMode::Parallel && plan.segment[si] == SegmentKind::Chunk)
        return {plan.prefixLength, plan.chunkRanges[static_cast<std::size_t>(plan.chunk[si])].begin};
    return {i + 1, i + 1};
}

namespace {

// [0, a) ∪ [b, last], each range clipped to begin at `from`; empty ranges dropped.
void keyRanges(RowKeys k, int last, int from, std::vector<KeyRange>& out) {
    out.clear();
    const KeyRange both[2] = {{std::max(0, from), k.a}, {std::max(k.b, from), last + 1}};
    for (const KeyRange& r : both)
        if (r.end > r.begin) out.push_back(r);
}

bool sameBlock(const EncodingPlan& plan, int i, int j) {
    const auto si = static_cast<std::size_t>(i), sj = static_cast<std::size_t>(j);
    return plan.segment[sj] == plan.segment[si] && plan.chunk[sj] == plan.chunk[si];
}

}  // namespace

void visibleKeyRanges(const EncodingPlan& plan, int row, int window, std::vector<KeyRange>& out) {
    keyRanges(rowKeys(plan, row), row, windowStart(row, window), out);
}

std::vector<RowBlock> visibilityBlocks(const EncodingPlan& plan, int from, int to, int maxRows) {
    std::vector<RowBlock> out;
    for (int i = from; i < to;) {
        int j = i + 1;
        while (j < to && j - i < maxRows && sameBlock(plan, i, j)) ++j;
        out.push_back({i, j});
        i = j;
    }
    return out;
}

void blockKeyRanges(const EncodingPlan& plan, const RowBlock& block, int window, std::vector<KeyRange>& out) {
    keyRanges(rowKeys(plan, block.end - 1), block.end - 1, windowStart(block.begin, window), out);
}

}  // namespace attnscope
