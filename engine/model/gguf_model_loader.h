#pragma once
// GGUF keys and tensor names → ModelConfig + ModelWeights + TokenizerSpec.
//
// Architectures (general.architecture):
//   llama   LLaMA-2/3, TinyLlama, Mistral. RoPE pairs adjacent dims (llama.cpp's converter
//           permutes Q/K rows from the Hugging Face order), so ropeLayout = AdjacentPairs.
//   qwen2   llama + Q/K/V biases; RoPE rotate-half (NEOX).
//   gemma3  Q/K RMSNorm, post-attention / post-FFN norms, GELU(tanh) gate, embeddings scaled by
//           sqrt(dim), 5 sliding-window layers then 1 global. llama.cpp's converter already adds 1
//           to every gemma norm weight, so normAddOne stays false for GGUF (it is true for the
//           same model read from a Hugging Face folder).
// Anything else is an Unsupported error naming the architecture.
//
// Shapes: GGUF lists dims ne0 first; ne0 is the row length (TensorView::cols), ne1 the row count.
// Every tensor is checked against the config; errors name the tensor, expected and actual shape.
#include <memory>
#include <stop_token>
#include <string>

#include "core/error.h"
#include "model/gguf_reader.h"
#include "model/loaded_model.h"

namespace attnscope {

// Loads a .gguf file (memory-mapped). The result keeps the mapping alive. A stop requested on
// `stop` ends the load between tensors (a Cancelled error).
Result<LoadedModel> loadGgufModel(const std::string& path, std::stop_token stop = {});
// Same, from an already parsed file.
Result<LoadedModel> loadGgufModel(const GgufFile& gguf, std::stop_token stop = {});

// The tokenizer described by tokenizer.ggml.* keys: "llama" → SentencePieceEmbedded, "gpt2" →
// Gpt2Bpe, anything else (or no keys) → Kind::None; the model name stays readable in the
// loaded model's metadata as "tokenizer model".
// `vocabRows` > 0 bounds the token count (the embedding must cover every token).
Result<TokenizerSpec> ggufTokenizerSpec(const GgufFile& gguf, int vocabRows = 0);

// Human-readable name of a llama.cpp `general.file_type` value (e.g. 7 → "Q8_0").
std::string ggufFileTypeName(std::uint32_t fileType);

}  // namespace attnscope
