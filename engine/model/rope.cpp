#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

double llama3ScaledFrequency(const RopeScaling& sc, double f) {
    const double pi = 3.14159265358979323846;
    const double wavelen = 2 * pi / f;
    const double lowWave = sc.originalContextLength / sc.lowFreqFactor;
    const double highWave = sc.originalContextLength / sc.highFreqFactor;
    if (wavelen > lowWave) return f / sc.factor;
    if (wavelen < highWave) return f;
    const double smooth =
        (sc.originalContextLength / wavelen - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
    return (1 - smooth) * f / sc.factor + smooth * f;
}

std::vector<double> ropeInverseFrequencies(const ModelConfig& cfg, int layer) {
    const int half = cfg.ropeDim / 2;
    const double theta = cfg.ropeThetaFor(layer);
    const RopeScaling& sc = cfg.isLocalLayer(layer) ? RopeScaling{} : cfg.ropeScaling;
    std::vector<double> inv(static_cast<std::size_t>(std::max(half, 0)));
    for (int k = 0; k < half; ++k) {
        double f = 1.0 / std::pow(theta, (2.0 * k) / cfg.ropeDim);
        if (sc.kind == RopeScaling::Kind::Linear && sc.factor > 0) f /= sc.factor;
        if (sc.kind == RopeScaling::Kind::Llama3) f = llama3ScaledFrequency(sc, f);
        inv[static_cast<std::size_t>(k)] = f;
    }
    return inv;
}

std::vector<float> ropeTable(const std::vector<double>& invFreq, const std::int32_t* positions, int rows) {
    const std::size_t half = invFreq.size();
    std::vector<float> out(static_cast<std::size_t>(std::max(rows, 0)) * half * 2);
    for (int r = 0; r < rows; ++r)
        for (std::size_t p = 0; p < half; ++p) {
            const double angle = positions[r] * invFreq[p];
            out[(static_cast<std::size_t>(r) * half + p) * 2] = static_cast<float>(std::cos(angle));
            out[(static_cast<std::size_t>(r) * half + p) * 2 + 1] = static_cast<float>(std::sin(angle));
        }
    return out;
}

RopeTables::RopeTables(const ModelConfig& cfg, const std::int32_t* positions, int rows) {
    int firstGlobal = -1, firstLocal = -1;
    for (int l = 0; l < cfg.nLayers; ++l) {
        if (cfg.isLocalLayer(l) && firstLocal < 0) firstLocal = l;
        if (!cfg.isLocalLayer(l) && firstGlobal < 0) firstGlobal = l;
    }
    global_ = ropeTable(ropeInverseFrequencies(cfg, firstGlobal < 0 ? 0 : firstGlobal), positions, rows);
    if (firstLocal >= 0) local_ = ropeTable(ropeInverseFrequencies(cfg, firstLocal), positions, rows);
}

}  // namespace attnscope
