#pragma once
// Rotary position embedding, the one rule both backends use: each layer's inverse frequencies
// (its base, and RoPE scaling on global layers only) and the cos/sin tables of a run's
// positions. The rotation itself is a kernel (cpu_kernels, cuda kernels) that reads the table.
#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace attnscope {

// Inverse frequency of each pair p < ropeDim/2 for `layer`: theta^(-2p/ropeDim) with theta the
// layer's base (ModelConfig::ropeThetaFor). Global layers apply the model's scaling (linear,
// Llama-3); sliding-window layers rotate unscaled (Hugging Face and llama.cpp alike).
std::vector<double> ropeInverseFrequencies(const ModelConfig& cfg, int layer);

// Llama-3 scaling of one inverse frequency f: long wavelengths divided by the factor, short ones
// kept, the band between interpolated.
double llama3ScaledFrequency(const RopeScaling& scaling, double f);

// cos and sin of positions[r] · invFreq[p], computed in double and stored as float:
// [rows][ropeDim/2][2] with (cos, sin) innermost.
std::vector<float> ropeTable(const std::vector<double>& invFreq, const std::int32_t* positions, int rows);

// The tables of one run: one per kind of layer (global, and local when the model has
// sliding-window layers), for `rows` positions.
class RopeTables {
public:
    RopeTables(const ModelConfig& cfg, const std::int32_t* positions, int rows);
    // [rows][ropeDim/2][2] table of `layer` (ModelConfig::isLocalLayer says which).
    const std::vector<float>& forLayer(const ModelConfig& cfg, int layer) const {
        return cfg.isLocalLayer(layer) ? local_ : global_;
    }
    bool hasLocal() const { return !local_.empty(); }
    const std::vector<float>& global() const { return global_; }
    const std::vector<float>& local() const { return local_; }

private:
    std::vector<float> global_, local_;
};

}  // namespace attnscope
