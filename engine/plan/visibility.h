#pragma once
// Which keys a row may attend to, before selective attention: the one rule behind the CPU
// attention, the CUDA host code, the CUDA kernels and their reference twins (PAPER.md, "Mask").
//
// Row i sees the keys [0, a) ∪ [b, i] (causal over the physical order):
//   - full mode, prefix rows and query rows: a = b = i + 1, i.e. everything before them;
//   - a chunk row in parallel mode: a = S (the prefix) and b = its chunk's first token.
// A sliding window W (local layers) further keeps only keys j > i − W, measured by physical
// index as transformers does.
//
// keyVisible and windowStart are inline and compile as device code, so the CUDA kernels apply
// the very same rule.
#include <vector>

#include "core/host_device.h"
#include "plan/encoding_plan.h"

namespace attnscope {

// First key the window lets row i see (0 without a window).
ATTN_HOST_DEVICE inline int windowStart(int i, int window) { return window > 0 ? i - window + 1 : 0; }

// May row i attend to key j? (a, b) = rowKeys(plan, i); window 0 = none.
ATTN_HOST_DEVICE inline bool keyVisible(int i, int j, int a, int b, int window) {
    if (j > i || j < 0) return false;
    if (j < windowStart(i, window)) return false;
    return j < a || j >= b;
}

struct RowKeys {
    int a = 0;  // keys [0, a) ...
    int b = 0;  // ... and [b, i] are visible
};

// The mask rule: the two key ranges of row i of the plan.
RowKeys rowKeys(const EncodingPlan& plan, int i);

// The keys row `row` sees, window applied, as sorted disjoint ranges (empty ones dropped).
void visibleKeyRanges(const EncodingPlan& plan, int row, int window, std::vector<KeyRange>& out);

// Rows [begin, end) that see the same keys apart from causality: one segment, and one chunk
// in parallel mode. Backends score such a block of rows against its keys in one GEMM.
struct RowBlock {
    int begin = 0, end = 0;
};
// [from, to) cut into such blocks of at most maxRows rows.
std::vector<RowBlock> visibilityBlocks(const EncodingPlan& plan, int from, int to, int maxRows);
// Every key some row of a block may see (the last row's keys, from the first row's window start).
void blockKeyRanges(const EncodingPlan& plan, const RowBlock& block, int window, std::vector<KeyRange>& out);

}  // namespace attnscope
