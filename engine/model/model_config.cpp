#include "model/model_config.h"

#include <algorithm>
#include <cmath>

#include "core/enum_names.h"

namespace attnscope {

const char* architectureName(Architecture a) {
    static constexpr const char* kNames[] = {"llama", "qwen2", "gemma3"};  // Architecture order
    return enumName(a, kNames);
}

float ModelConfig::attentionScale() const {
    if (queryScale > 0) return queryScale;
    return 1.0f / std::sqrt(static_cast<float>(headDim));
}

Result<void> ModelConfig::validate(const std::string& file) const {
    auto bad = [&](const std::string& why) {
        return makeError(ErrorKind::Format, "invalid model dimensions: " + why, file);
    };
    constexpr int kMaxDim = 1 << 16, kMaxLayers = 1024, kMaxHeads = 1024, kMaxVocab = 1 << 22;
    if (dim <= 0 || dim > kMaxDim) return bad("hidden size " + std::to_string(dim) + " out of range");
    if (nLayers <= 0 || nLayers > kMaxLayers) return bad("layer count " + std::to_string(nLayers) + " out of range");
    if (nHeads <= 0 || nHeads > kMaxHeads) return bad("head count " + std::to_string(nHeads) + " out of range");
    if (nKvHeads <= 0 || nKvHeads > nHeads || nHeads % nKvHeads != 0)
        return bad("KV head count " + std::to_string(nKvHeads) + " must divide head count " + std::to_string(nHeads));
    if (headDim <= 0 || headDim > 1024) return bad("head size " + std::to_string(headDim) + " out of range");
    if (ffnDim <= 0 || ffnDim > (1 << 20)) return bad("FFN size " + std::to_string(ffnDim) + " out of range");
    if (vocabSize <= 0 || vocabSize > kMaxVocab)
        return bad("vocabulary size " + std::to_string(vocabSize) + " out of range");
    if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0)
        return bad("rotary dimension " + std::to_string(ropeDim) + " must be even and at most the head size " +
                   std::to_string(headDim));
    if (!(ropeTheta > 0) || !std::isfinite(ropeTheta)) return bad("rotary base must be positive");
    if (!(normEps > 0) || normEps > 1) return bad("RMS epsilon out of range");
    if (!layerIsLocal.empty() && static_cast<int>(layerIsLocal.size()) != nLayers)
        return bad("sliding-window layer pattern does not cover every layer");
    const bool anyLocal = std::find(layerIsLocal.begin(), layerIsLocal.end(), true) != layerIsLocal.end();
    if (anyLocal && slidingWindow < 1)
        return bad("the sliding-window layers need a window of at least 1 token (sliding_window is " +
                   std::to_string(slidingWindow) + ")");
    return {};
}

std::string ModelConfig::summary() const {
    std::string s = std::string(architectureName(arch)) + " · " + std::to_string(nLayers) +
                    " layers · d=" + std::to_string(dim) + " · " + std::to_string(nHeads) + " heads";
    if (nKvHeads != nHeads) s += " (" + std::to_string(nKvHeads) + " KV)";
    s += " · FFN " + std::to_string(ffnDim) + " · vocab " + std::to_string(vocabSize);
    return s;
}

}  // namespace attnscope
