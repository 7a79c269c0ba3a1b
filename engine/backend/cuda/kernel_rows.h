#pragma once
// Device helpers shared by the attention kernels (kernels.cu, attention_mma.cu): rows of a split
// token matrix and the selection of kept chunks of a query row. Device code only.
#include <cstdint>

#include "backend/cuda/kernels.h"

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

#endif  // __CUDACC__ || ATTNSCOPE_CUDA_EMULATION

}  // namespace attnscope::cuda
