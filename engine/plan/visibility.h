#pragma once
// Which keys a row may attend to, before selective attention: the one rule behind the CPU
// attention, the CUDA host code, the CUDA kernels and their reference twins (PAPER.md, "Mask").
//
// Row i sees the keys [0, a) ∪ [b, i] (causal over the physical order):
//   - full mode, prefix rows and query rows: a = b = i + 1, i.e. everything before them;
//   - a chunk row in parallel mode: a = S (the prefix) and b = its chunk's first token.
// A sliding window W (local layers) further keeps only the keys within W of the row, measured by
// the plan's window rule (PAPER.md, "Sliding-window layers"):
//   - physical (transformers): i − j < W, so the window is one range of keys, j > i − W;
//   - position (llama.cpp): pos(i) − pos(j) < W with the rotary position ids. In parallel mode the
//     chunks' positions overlap, so the keys it keeps are no range: up to one per segment.
//
// The functions below are inline and compile as device code, so the CUDA kernels apply the very
// same rule. `positions` is null under the physical rule (a token's coordinate is its index),
// else the plan's position ids (windowPositions below).
#include <vector>

#include "core/host_device.h"
#include "plan/encoding_plan.h"

namespace attnscope {

// What the window measures distance in: token i's index, or its position id.
ATTN_HOST_DEVICE inline int windowCoordinate(int i, const int* positions) { return positions ? positions[i] : i; }

// Does the window (0 = none) let row i see key j?
ATTN_HOST_DEVICE inline bool inWindow(int i, int j, int window, const int* positions) {
    return window <= 0 || windowCoordinate(i, positions) - windowCoordinate(j, positions) < window;
}

// A key below which the window hides every key from row i: the first key it keeps under the
// physical rule; 0 without a window and under the position rule, which bounds no index range.
ATTN_HOST_DEVICE inline int windowStart(int i, int window, const int* positions) {
    return window > 0 && !positions ? i - window + 1 : 0;
}

// Does the window keep every key from k0 on for every row up to `lastRow`?
ATTN_HOST_DEVICE inline bool windowKeepsFrom(int k0, int lastRow, int window, const int* positions) {
    return window <= 0 || (!positions && k0 >= windowStart(lastRow, window, positions));
}

// May row i attend to key j? (a, b) = rowKeys(plan, i); window 0 = none.
ATTN_HOST_DEVICE inline bool keyVisible(int i, int j, int a, int b, int window, const int* positions) {
    if (j > i || j < 0) return false;
    if (!inWindow(i, j, window, positions)) return false;
    return j < a || j >= b;
}

// The plan's window coordinates for the functions above: null under the physical rule, its
// position ids under the position rule.
const int* windowPositions(const EncodingPlan& plan);

struct RowKeys {
    int a = 0;  // keys [0, a) ...
    int b = 0;  // ... and [b, i] are visible
};

// The mask rule: the two key ranges of row i of the plan.
RowKeys rowKeys(const EncodingPlan& plan, int i);

// The keys row `row` sees, the plan's window rule applied, as sorted disjoint ranges (empty
// ones dropped): at most two under the physical rule, up to one per segment under the position rule.
void visibleKeyRanges(const EncodingPlan& plan, int row, int window, std::vector<KeyRange>& out);

// Rows [begin, end) that see the same keys apart from causality: one segment, and one chunk
// in parallel mode. Backends score such a block of rows against its keys in one GEMM.
struct RowBlock {
    int begin = 0, end = 0;
};
// [from, to) cut into such blocks of at most maxRows rows.
std::vector<RowBlock> visibilityBlocks(const EncodingPlan& plan, int from, int to, int maxRows);
// Every key some row of a block may see: the last row's keys, within the window of the row
// nearest them (the first row under the physical rule, the lowest position under the position one).
void blockKeyRanges(const EncodingPlan& plan, const RowBlock& block, int window, std::vector<KeyRange>& out);

}  // namespace attnscope
