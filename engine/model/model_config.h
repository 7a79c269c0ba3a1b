#pragma once
// The architecture-independent description of a decoder-only transformer, filled by every
// loader (GGUF, Hugging Face) the same way. Differences between families (llama, qwen2, gemma3)
// are data here, never subclasses: backends read the flags.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace attnscope {

enum class Architecture { Llama, Qwen2, Gemma3 };
const char* architectureName(Architecture a);

// How rotary embedding pairs dimensions inside a head:
//  AdjacentPairs: (x[2i], x[2i+1]) rotate together — GGUF/llama.cpp layout for `llama` (the
//                 converter permutes Q/K rows from the Hugging Face checkpoint);
//  RotateHalf:    (x[i], x[i + d/2]) — Hugging Face layout, and GGUF's for qwen2/gemma3 (NEOX).
enum class RopeLayout { AdjacentPairs, RotateHalf };

// The largest value a loader accepts for any count or size in a model file (a bound against
// corrupt headers; ModelConfig::validate checks each size more tightly).
constexpr std::int64_t kMaxHeaderInteger = 1 << 30;

struct RopeScaling {
    enum class Kind { None, Linear, Llama3 } kind = Kind::None;
    float factor = 1.0f;
    float lowFreqFactor = 1.0f;        // llama3
    float highFreqFactor = 4.0f;       // llama3
    int originalContextLength = 8192;  // llama3
};

struct ModelConfig {
    Architecture arch = Architecture::Llama;
    std::string name;  // general.name or the folder name

    int dim = 0;  // hidden size d
    int nLayers = 0;
    int nHeads = 0;    // query heads
    int nKvHeads = 0;  // key/value heads (GQA: nHeads % nKvHeads == 0)
    int headDim = 0;   // per-head size (usually dim / nHeads; gemma3 may differ)
    int ffnDim = 0;    // hidden size of the gated FFN
    int vocabSize = 0;
    int contextLength = 0;  // trained context, informational

    int ropeDim = 0;                  // rotated dims per head (<= headDim)
    float ropeTheta = 10000.0f;       // base for global layers
    float ropeThetaLocal = 10000.0f;  // gemma3 sliding-window layers
    RopeLayout ropeLayout = RopeLayout::AdjacentPairs;
    RopeScaling ropeScaling;

    float normEps = 1e-5f;    // RMSNorm epsilon
    bool tiedOutput = false;  // output projection shares the token embedding

    // Family features (all false / neutral for llama).
    bool qkvBias = false;            // qwen2
    bool normAddOne = false;         // gemma: RMSNorm scales by (1 + w)
    bool qkNorm = false;             // gemma3: RMSNorm over each head of Q and K
    bool postAttnNorm = false;       // gemma: norm after attention, before the residual add
    bool postFfnNorm = false;        // gemma: norm after the FFN, before the residual add
    bool gegluTanh = false;          // gemma: GELU(tanh) gate instead of SiLU
    float embedScale = 1.0f;         // gemma: sqrt(dim)
    float queryScale = 0.0f;         // attention score scale; 0 = 1/sqrt(headDim)
    int slidingWindow = 0;           // gemma3 local layers: keys within this many positions
    std::vector<bool> layerIsLocal;  // per layer: sliding-window (true) or global

    // Effective score scale.
    float attentionScale() const;
    // Per layer: a sliding-window (local) layer? Its window (keys within it by the plan's window
    // rule, plan/visibility.h; 0 = none) and its rotary base. RoPE scaling applies to global layers only
    // (model/rope.h).
    bool isLocalLayer(int layer) const {
        return layer >= 0 && layer < static_cast<int>(layerIsLocal.size()) &&
               layerIsLocal[static_cast<std::size_t>(layer)];
    }
    int slidingWindowFor(int layer) const { return slidingWindow > 0 && isLocalLayer(layer) ? slidingWindow : 0; }
    // Some layer has a sliding window: the window rule (EncodingOptions::window) matters.
    bool hasSlidingWindowLayers() const {
        for (int l = 0; l < static_cast<int>(layerIsLocal.size()); ++l)
            if (slidingWindowFor(l) > 0) return true;
        return false;
    }
    float ropeThetaFor(int layer) const { return isLocalLayer(layer) ? ropeThetaLocal : ropeTheta; }
    // Checks every size for sanity (positive, divisible, not absurd). `file` labels the error.
    Result<void> validate(const std::string& file) const;
    // One-line summary, e.g. "llama · 5 layers · d=64 · 8 heads (4 KV) · vocab 512".
    std::string summary() const;
};

}  // namespace attnscope
