#include "analysis/analysis_result.h"

#include <limits>

namespace attnscope {

AnalysisResult AnalysisResult::shaped(const EncodingPlan& plan, int layers, int heads) {
    AnalysisResult r;
    r.layers = layers;
    r.heads = heads;
    r.tokens = plan.tokenCount();
    r.chunks = plan.chunkCount();
    r.queryBegin = plan.queryBegin;
    const std::size_t lh = static_cast<std::size_t>(layers) * heads, Q = static_cast<std::size_t>(r.queries());
    r.entropy.assign(lh * r.tokens, 0.0f);
    r.chunkMass.assign(lh * Q * r.chunks, 0.0f);
    r.prefixMass.assign(lh * Q, 0.0f);
    r.queryMass.assign(lh * Q, 0.0f);
    r.selected.assign(lh * Q * r.chunks, 1);
    return r;
}

float AnalysisResult::headMeanEntropy(int layer, int token) const {
    double s = 0;
    for (int h = 0; h < heads; ++h) s += entropyAt(layer, h, token);
    return heads ? static_cast<float>(s / heads) : 0.0f;
}

double AnalysisResult::layerQueryEntropy(int layer) const {
    if (queries() <= 0 || heads <= 0) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    for (int h = 0; h < heads; ++h)
        for (int t = queryBegin; t < tokens; ++t) s += entropyAt(layer, h, t);
    return s / (static_cast<double>(heads) * queries());
}

double AnalysisResult::meanQueryEntropy() const {
    if (layers <= 0) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    for (int l = 0; l < layers; ++l) s += layerQueryEntropy(l);
    return s / layers;
}

double AnalysisResult::meanNll() const {
    double s = 0;
    int n = 0;
    for (float v : nllNext)
        if (!std::isnan(v)) {
            s += v;
            ++n;
        }
    return n ? s / n : std::numeric_limits<double>::quiet_NaN();
}

double AnalysisResult::perplexity() const { return std::exp(meanNll()); }

}  // namespace attnscope
