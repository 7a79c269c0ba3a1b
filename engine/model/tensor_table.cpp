#include "model/tensor_table.h"

namespace attnscope {

namespace {

constexpr Extent One = Extent::One, Dim = Extent::Dim, QueryDim = Extent::QueryDim, KvDim = Extent::KvDim,
                 FfnDim = Extent::FfnDim, HeadDim = Extent::HeadDim, Vocab = Extent::Vocab;

using LW = LayerWeights;
using MC = ModelConfig;

// field, GGUF name, Hugging Face name, gemma's Hugging Face name, present when, [rows][cols]
constexpr LayerTensor kLayerTensors[] = {
    {&LW::attnNorm, "attn_norm.weight", "input_layernorm.weight", nullptr, nullptr, {One, Dim}},
    {&LW::wq, "attn_q.weight", "self_attn.q_proj.weight", nullptr, nullptr, {QueryDim, Dim}},
    {&LW::wk, "attn_k.weight", "self_attn.k_proj.weight", nullptr, nullptr, {KvDim, Dim}},
    {&LW::wv, "attn_v.weight", "self_attn.v_proj.weight", nullptr, nullptr, {KvDim, Dim}},
    {&LW::wo, "attn_output.weight", "self_attn.o_proj.weight", nullptr, nullptr, {Dim, QueryDim}},
    // In llama/qwen2 checkpoints post_attention_layernorm is the pre-FFN norm; gemma has a norm
    // after attention under that name and calls the pre-FFN norm pre_feedforward_layernorm.
    {&LW::ffnNorm,
     "ffn_norm.weight",
     "post_attention_layernorm.weight",
     "pre_feedforward_layernorm.weight",
     nullptr,
     {One, Dim}},
    {&LW::wGate, "ffn_gate.weight", "mlp.gate_proj.weight", nullptr, nullptr, {FfnDim, Dim}},
    {&LW::wUp, "ffn_up.weight", "mlp.up_proj.weight", nullptr, nullptr, {FfnDim, Dim}},
    {&LW::wDown, "ffn_down.weight", "mlp.down_proj.weight", nullptr, nullptr, {Dim, FfnDim}},
    {&LW::bq, "attn_q.bias", "self_attn.q_proj.bias", nullptr, &MC::qkvBias, {One, QueryDim}},
    {&LW::bk, "attn_k.bias", "self_attn.k_proj.bias", nullptr, &MC::qkvBias, {One, KvDim}},
    {&LW::bv, "attn_v.bias", "self_attn.v_proj.bias", nullptr, &MC::qkvBias, {One, KvDim}},
    {&LW::qNorm, "attn_q_norm.weight", "self_attn.q_norm.weight", nullptr, &MC::qkNorm, {One, HeadDim}},
    {&LW::kNorm, "attn_k_norm.weight", "self_attn.k_norm.weight", nullptr, &MC::qkNorm, {One, HeadDim}},
    {&LW::postAttnNorm,
     "post_attention_norm.weight",
     "post_attention_layernorm.weight",
     nullptr,
     &MC::postAttnNorm,
     {One, Dim}},
    {&LW::postFfnNorm,
     "post_ffw_norm.weight",
     "post_feedforward_layernorm.weight",
     nullptr,
     &MC::postFfnNorm,
     {One, Dim}},
};

// field, GGUF name, Hugging Face name, optional, [rows][cols], Hugging Face name at the root
constexpr ModelTensor kModelTensors[] = {
    {&ModelWeights::tokenEmbedding, "token_embd.weight", "embed_tokens.weight", false, {Vocab, Dim}},
    {&ModelWeights::outputNorm, "output_norm.weight", "norm.weight", false, {One, Dim}},
    {&ModelWeights::output, "output.weight", "lm_head.weight", true, {Vocab, Dim}, true},
};

}  // namespace

std::int64_t extentSize(Extent e, const ModelConfig& c) {
    switch (e) {
        case Extent::One: return 1;
        case Extent::Dim: return c.dim;
        case Extent::QueryDim: return static_cast<std::int64_t>(c.nHeads) * c.headDim;
        case Extent::KvDim: return static_cast<std::int64_t>(c.nKvHeads) * c.headDim;
        case Extent::FfnDim: return c.ffnDim;
        case Extent::HeadDim: return c.headDim;
        case Extent::Vocab: return c.vocabSize;
    }
    return 0;
}

std::vector<std::int64_t> TensorShape::ggufDims(const ModelConfig& c) const {
    if (rows == Extent::One) return {extentSize(cols, c)};
    return {extentSize(cols, c), extentSize(rows, c)};
}

std::vector<std::int64_t> TensorShape::safetensorsDims(const ModelConfig& c) const {
    if (rows == Extent::One) return {extentSize(cols, c)};
    return {extentSize(rows, c), extentSize(cols, c)};
}

std::string LayerTensor::ggufName(int layer) const { return "blk." + std::to_string(layer) + "." + gguf; }

std::string LayerTensor::hfName(const std::string& prefix, int layer, const ModelConfig& c) const {
    const char* name = hfGemma && c.arch == Architecture::Gemma3 ? hfGemma : hf;
    return prefix + "layers." + std::to_string(layer) + "." + name;
}

std::span<const LayerTensor> layerTensors() { return kLayerTensors; }
std::span<const ModelTensor> modelTensors() { return kModelTensors; }

void tieOutputWhenAbsent(ModelConfig& c, ModelWeights& w) {
    if (w.output.present()) return;
    c.tiedOutput = true;
    w.output = w.tokenEmbedding;
}

std::string shapeText(const std::vector<std::int64_t>& dims) {
    std::string s = "[";
    for (std::size_t d = 0; d < dims.size(); ++d) s += (d ? ", " : "") + std::to_string(dims[d]);
    return s + "]";
}

Error missingTensorError(const std::string& name, const std::string& file) {
    return makeError(ErrorKind::Format, "missing required tensor '" + name + "'", file);
}

Error unusedTensorError(const std::string& name, const std::string& arch, const std::string& file,
                        std::uint64_t offset) {
    return makeError(
        ErrorKind::Unsupported,
        "tensor '" + name + "' is not used by the " + arch + " architecture (an unsupported variant of it?)", file,
        offset);
}

}  // namespace attnscope
