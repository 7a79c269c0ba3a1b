#pragma once
// Device helpers shared by the attention kernels (kernels.cu, attention_mma.cu): rows of a split
// token matrix, the selection of kept chunks of a query row and the key tiles of a block of rows. Device code only.
#include <cstdint>

#include "backend/cuda/kernels.h"
#include "plan/visibility.h"

namespace attnscope::cuda {

#if defined(__CUDACC__) || defined(ATTNSCOPE_CUDA_EMULATION)

// Row t of a split token matrix.
template <typename T>
ATTN_DEV const T* rowPtr(const TokenRows& r, int t) {
    return t < r.split ? static_cast<const T*>(r.head) + static_cast<std::size_t>(t) * r.stride
                       : static_cast<const T*>(r.tail) + static_cast<std::size_t>(t - r.split) * r.stride;
}

// Kept chunks of query row i for head h (null: no selection for this row).
ATTN_DEV const std::uint8_t* selectionRow(const VisibilityArgs& v, int tokens, int h, int i) {
    if (!v.selected || i < v.queryBegin) return nullptr;
    const int queries = tokens - v.queryBegin;
    return v.selected + (static_cast<std::size_t>(h) * queries + (i - v.queryBegin)) * v.chunks;
}

ATTN_DEV bool keyKept(const VisibilityArgs& v, const std::uint8_t* sel, int j) {
    if (!sel) return true;
    const int c = v.keyChunk[j];
    return c < 0 || sel[c] != 0;
}

// The key tiles (of tileKeys keys) a block of rows [row0, min(row0 + rows, a.rowEnd)) visits: those
// covering [W, A) ∪ [max(B, W), E), the keys any of its rows may see, with A = max a, B = min b,
// E = last row + 1 and W the first row's window start (the later rows' windows start later; 0
// under the position rule, whose window is no range of keys).
struct BlockKeyTiles {
    int tileKeys = 1, begin1 = 0, end1 = 0, begin2 = 0, end2 = 0;
    ATTN_DEV int count() const { return (end1 - begin1) + (end2 - begin2); }
    ATTN_DEV int start(int ti) const {
        return (ti < end1 - begin1 ? begin1 + ti : begin2 + (ti - (end1 - begin1))) * tileKeys;
    }
};

ATTN_DEV BlockKeyTiles blockKeyTiles(const AttentionForwardArgs& a, int row0, int rows, int tileKeys) {
    int A = 0, B = 0x7fffffff;
    const int last = imin(row0 + rows, a.rowEnd) - 1;
    for (int i = row0; i <= last; ++i) {
        A = imax(A, a.vis.rowKeys[2 * i]);
        B = imin(B, a.vis.rowKeys[2 * i + 1]);
    }
    const int W = imax(0, windowStart(row0, a.g.window, a.vis.windowPositions));
    BlockKeyTiles t;
    t.tileKeys = tileKeys;
    t.begin1 = W / tileKeys;
    t.end1 = imax(t.begin1, (A + tileKeys - 1) / tileKeys);
    t.begin2 = imax(t.end1, imax(B, W) / tileKeys);
    t.end2 = imax(t.begin2, (last + 1 + tileKeys - 1) / tileKeys);
    return t;
}

#endif  // __CUDACC__ || ATTNSCOPE_CUDA_EMULATION

}  // namespace attnscope::cuda
