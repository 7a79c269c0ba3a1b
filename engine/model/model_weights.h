#pragma once
// Non-owning views of every weight tensor, in one shape whatever the file format. Matrices are
// row-major [out][in] (PyTorch nn.Linear order; GGUF's ne0 is the row length `in`). The bytes
// live in memory-mapped files (or buffers) kept alive by LoadedModel.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace attnscope {

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::int64_t rows = 0;  // outer dimension (1 for vectors)
    std::int64_t cols = 0;  // inner (contiguous) dimension
    const std::uint8_t* data = nullptr;
    std::uint64_t bytes = 0;

    bool present() const { return data != nullptr; }
    std::uint64_t rowBytes() const { return bytes / static_cast<std::uint64_t>(rows > 0 ? rows : 1); }
    const std::uint8_t* row(std::int64_t r) const { return data + static_cast<std::uint64_t>(r) * rowBytes(); }
};

struct LayerWeights {
    TensorView attnNorm;        // [dim]
    TensorView wq, wk, wv, wo;  // [nHeads*headDim][dim], [nKv*headDim][dim] x2, [dim][nHeads*headDim]
    TensorView bq, bk, bv;      // optional biases (qwen2)
    TensorView qNorm, kNorm;    // optional [headDim] (gemma3)
    TensorView postAttnNorm;    // optional [dim] (gemma)
    TensorView ffnNorm;         // [dim]
    TensorView postFfnNorm;     // optional [dim] (gemma)
    TensorView wGate, wUp;      // [ffnDim][dim]
    TensorView wDown;           // [dim][ffnDim]
};

struct ModelWeights {
    TensorView tokenEmbedding;  // [vocab][dim]
    TensorView outputNorm;      // [dim]
    TensorView output;          // [vocab][dim]; equals tokenEmbedding when tied
    std::vector<LayerWeights> layers;
};

}  // namespace attnscope
