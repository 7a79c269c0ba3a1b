#pragma once
// Fused attention on tensor cores: the contract of launchAttentionForward (kernels.h) — same
// arguments, same outputs (attention rows, per-row entropy and log-sum-exp with the running
// max/sum/entropy epilogue of online_stats.h, the renormalisation floor with lseBefore) —
// computed with BF16 mma.sync.m16n8k16 (FP16 when the storage type is f16) and float32
// accumulation, FlashAttention-2 style: a warp owns 16 query rows of one head and walks key
// tiles of 64 with an online softmax. Q, K and V are rounded to the 16-bit MMA type (exact for
// bf16 and f16 storage), and so are the probabilities before they weight V; the softmax
// statistics stay float32. Needs sm_80 and a head dimension that is a multiple of 16 up to
// kMaxHeadDim (the backend falls back to the FP32 kernel otherwise).
#include <cstddef>

#include "backend/cuda/kernels.h"

namespace attnscope::cuda {

// Can the tensor-core kernel run a model with this head dimension?
bool attentionMmaSupports(int headDim);

// As launchAttentionForward; cudaErrorInvalidValue when !attentionMmaSupports(headDim).
cudaError_t launchAttentionForwardMma(const AttentionForwardArgs& args, cudaStream_t stream);
std::size_t attentionMmaSharedBytes(int headDim);

// One warp-level D[16][8] = A[16][16] · B[16][8] + C[16][8] through the fragment layout the
// attention kernel uses (for the tests). a, b, c, d: device memory, row-major float; A and B are
// rounded to `type`'s MMA input type first (bf16 for F32 and BF16, f16 for F16).
cudaError_t launchMmaFragmentCheck(ElemType type, const float* a, const float* b, const float* c, float* d,
                                   cudaStream_t stream);

}  // namespace attnscope::cuda
