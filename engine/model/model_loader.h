#pragma once
#include <memory>
#include <stop_token>
#include <string>

#include "core/error.h"
#include "model/loaded_model.h"

namespace attnscope {

// Opens a model: a .gguf file, or a Hugging Face folder (config.json + *.safetensors +
// tokenizer.model). Sniffs the format, validates every size and offset, memory-maps weights.
// A stop requested on `stop` ends the load between tensors with a Cancelled error.
Result<std::shared_ptr<const LoadedModel>> loadModel(const std::string& path, std::stop_token stop = {});

// The error a loader returns when a stop was requested: Cancelled, naming the file or folder.
Error loadCancelled(const std::string& path);

// Finds the models folder: $ATTNSCOPE_MODELS, else ../shared/models relative to the current
// directory, else the installed demo models (<prefix>/share/attnscope/models beside
// <prefix>/bin), else shared/models in the executable's folder or one of its ancestors. Empty
// when none exists.
std::string findModelsDir();
// A model path as given, or resolved inside the models folder when it is a bare file name.
std::string resolveModelPath(const std::string& nameOrPath);

}  // namespace attnscope
