#pragma once
// Plain CPU twins of the kernels in kernels.h (llm.c style): same arguments, host pointers,
// written the obvious way (dense rows, double accumulation, −Σ p ln p taken literally) so that
// they check the kernels rather than repeat them. Used by tests/cuda only.
#include <cstddef>
#include <cstdint>

#include "backend/cuda/kernels.h"

namespace attnscope::cuda::reference {

void embed(ElemType type, const void* table, int dim, const int* ids, int n, float scale, float* x);
void rmsNorm(ElemType outType, const float* x, int rows, int cols, const float* w, bool addOne, float eps, void* out,
             bool accumulate);
void addBias(float* y, int rows, int cols, const float* bias);
void rope(ElemType outType, const float* x, int rows, int heads, int headDim, int ropeDim, bool adjacentPairs,
          const float* cs, void* out);
void gatedActivation(ElemType outType, const float* gate, const float* up, std::size_t n, bool geluTanh, void* out);
void dequantQ8_0(ElemType outType, const std::uint8_t* blocks, std::size_t n, void* out);
void convert(ElemType outType, const float* in, std::size_t n, void* out);
void nllArgmax(const float* logits, int rows, int vocab, const int* targets, float* nll, int* argmax);

// Dense per row: every visible, kept key's score, the softmax, the renormalisation floor
// computed from the unselected row itself (args.lseBefore only switches it on). A row that keeps
// no visible key gets NaN (entropy, lse, output; its query statistics: every value).
void attentionForward(const AttentionForwardArgs& args);
void queryStats(const QueryStatsArgs& args);
void attentionTile(const TileArgs& args);

// Element access for host buffers of a storage type.
float loadElem(ElemType t, const void* base, std::size_t idx);
void storeElem(ElemType t, void* base, std::size_t idx, float v);

}  // namespace attnscope::cuda::reference
