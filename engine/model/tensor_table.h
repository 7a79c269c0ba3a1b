#pragma once
// The weight tensors of every supported family (llama, qwen2, gemma3), described once as data:
// which field of ModelWeights / LayerWeights a tensor fills, its name in a GGUF file and in a
// Hugging Face checkpoint, when a model has it, and its shape from the ModelConfig. The GGUF and
// the Hugging Face loaders both walk these tables; neither spells the list out again.
//
// Names:  GGUF          blk.<layer>.<gguf>            (per layer), <gguf> (model tensors)
//         Hugging Face  <prefix>layers.<layer>.<hf>   (per layer), <prefix><hf> (model tensors)
// where <prefix> is where the checkpoint keeps its language model ("model.", or
// "language_model.model." in gemma3 multimodal checkpoints).
//
// Shapes are [rows][cols] in the engine's order (model_weights.h): rows are the outer dimension
// (PyTorch's `out`), cols the contiguous one (PyTorch's `in`, GGUF's ne0). A vector has rows = One.
// GGUF lists dims ne0 first ({cols, rows}); safetensors outermost first ({rows, cols}).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace attnscope {

// A tensor dimension, as a size taken from the ModelConfig.
enum class Extent {
    One,       // 1: the outer dimension of a vector
    Dim,       // hidden size d
    QueryDim,  // nHeads * headDim
    KvDim,     // nKvHeads * headDim
    FfnDim,    // FFN hidden size
    HeadDim,   // per-head size (Q/K norms)
    Vocab,     // vocabulary size (embedding rows)
};
std::int64_t extentSize(Extent e, const ModelConfig& c);

// A tensor's expected shape, [rows][cols].
struct TensorShape {
    Extent rows = Extent::One;
    Extent cols = Extent::Dim;

    std::vector<std::int64_t> ggufDims(const ModelConfig& c) const;         // ne0 first: {cols} or {cols, rows}
    std::vector<std::int64_t> safetensorsDims(const ModelConfig& c) const;  // outermost first: {cols} or {rows, cols}
};

// One tensor of every layer.
struct LayerTensor {
    TensorView LayerWeights::*field;
    const char* gguf;         // GGUF name after "blk.<layer>."
    const char* hf;           // Hugging Face name after "<prefix>layers.<layer>."
    const char* hfGemma;      // the Hugging Face name in gemma checkpoints when it differs (else nullptr)
    bool ModelConfig::*when;  // the layer has it only when this flag is set; nullptr: always
    TensorShape shape;

    // Whether a model with config `c` must have this tensor in every layer.
    bool requiredBy(const ModelConfig& c) const { return when == nullptr || c.*when; }
    std::string ggufName(int layer) const;
    std::string hfName(const std::string& prefix, int layer, const ModelConfig& c) const;
};

// One tensor of the model outside the layers.
struct ModelTensor {
    TensorView ModelWeights::*field;
    const char* gguf;  // GGUF name
    const char* hf;    // Hugging Face name after <prefix>, or after the checkpoint's root when atRoot
    bool optional;     // when absent the output projection shares the token embedding
    TensorShape shape;
    bool atRoot = false;  // beside the language model ("lm_head.weight"), not inside it
};

// Every layer tensor, in the order the loaders look them up (which decides the error reported
// first for a file with several faults).
std::span<const LayerTensor> layerTensors();
// Token embedding, output norm, output projection (optional).
std::span<const ModelTensor> modelTensors();

// After the model tensors are read: without an output projection the output is tied to the
// token embedding (sets c.tiedOutput).
void tieOutputWhenAbsent(ModelConfig& c, ModelWeights& w);

// "[a, b]": a shape in messages.
std::string shapeText(const std::vector<std::int64_t>& dims);
// The messages both loaders give for a tensor the model needs but the file lacks, and for a
// tensor the file has but the architecture does not use.
Error missingTensorError(const std::string& name, const std::string& file);
Error unusedTensorError(const std::string& name, const std::string& arch, const std::string& file,
                        std::uint64_t offset);

}  // namespace attnscope
