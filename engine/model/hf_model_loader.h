#pragma once
// Hugging Face model folders → ModelConfig + ModelWeights + TokenizerSpec.
//
// A folder holds config.json, the weights as model.safetensors or as shards
// model-XXXXX-of-YYYYY.safetensors listed by model.safetensors.index.json ("weight_map":
// tensor name → shard file), and usually tokenizer.model (SentencePiece) and
// tokenizer_config.json. config.json "model_type":
//   llama, mistral      → Architecture::Llama
//   qwen2               → Architecture::Qwen2 (Q/K/V biases)
//   gemma3_text, gemma3 → Architecture::Gemma3 (for "gemma3" the text model's settings are nested
//                         under "text_config" and tensors sit under language_model.)
// Weights are used as stored (F32/F16/BF16 views into the mapped shards): matrices are
// [out][in], and Q/K rows keep the Hugging Face rotate-half order, so ropeLayout = RotateHalf
// for every family (no permutation). Gemma norms scale by (1 + w): normAddOne = true.
// Tensor shapes are checked against config.json exactly as for GGUF.
#include <stop_token>
#include <string>

#include "core/error.h"
#include "core/json.h"
#include "model/loaded_model.h"

namespace attnscope {

// Loads the folder `dir` (weights memory-mapped; the result keeps the mappings alive). A stop
// requested on `stop` ends the load between tensors (a Cancelled error naming the folder).
Result<LoadedModel> loadHfModel(const std::string& dir, std::stop_token stop = {});

// config.json (already parsed) → ModelConfig without vocabulary-size inference: vocabSize is
// the config's vocab_size (0 when absent). `file` labels errors. Exposed for tests and tools.
Result<ModelConfig> hfConfigFromJson(const Json& config, const std::string& file);

}  // namespace attnscope
