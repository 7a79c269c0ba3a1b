#include "plan/visibility.h"

#include <algorithm>

namespace attnscope {

const int* windowPositions(const EncodingPlan& plan) {
    return plan.options.window == WindowRule::Position ? plan.positions.data() : nullptr;
}

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

// Keys j <= last that the mask (k) lets through and the window keeps for a row whose window
// coordinate is `rowCoordinate`, scanned key by key: the position rule's keys form no range.
void windowedKeyRanges(RowKeys k, int last, int rowCoordinate, int window, const int* positions,
                       std::vector<KeyRange>& out) {
    out.clear();
    for (int j = 0; j <= last; ++j) {
        if (!((j < k.a || j >= k.b) && rowCoordinate - positions[j] < window)) continue;
        if (!out.empty() && out.back().end == j) ++out.back().end;
        else out.push_back({j, j + 1});
    }
}

bool sameBlock(const EncodingPlan& plan, int i, int j) {
    const auto si = static_cast<std::size_t>(i), sj = static_cast<std::size_t>(j);
    return plan.segment[sj] == plan.segment[si] && plan.chunk[sj] == plan.chunk[si];
}

}  // namespace

void visibleKeyRanges(const EncodingPlan& plan, int row, int window, std::vector<KeyRange>& out) {
    const int* positions = windowPositions(plan);
    if (window > 0 && positions) windowedKeyRanges(rowKeys(plan, row), row, positions[row], window, positions, out);
    else keyRanges(rowKeys(plan, row), row, windowStart(row, window, positions), out);
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
    const int last = block.end - 1;
    const int* positions = windowPositions(plan);
    if (window > 0 && positions) {
        const auto first = plan.positions.begin() + block.begin;
        const int lowest = *std::min_element(first, first + (block.end - block.begin));
        windowedKeyRanges(rowKeys(plan, last), last, lowest, window, positions, out);
    } else keyRanges(rowKeys(plan, last), last, windowStart(block.begin, window, positions), out);
}

}  // namespace attnscope
