#pragma once
// What a loader returns: configuration, weight views, tokenizer description and the storage
// that keeps the views valid.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace attnscope {

// How to build the tokenizer for this model (the tokenizer layer turns this into a Tokenizer).
struct TokenizerSpec {
    enum class Kind { None, SentencePieceFile, SentencePieceEmbedded, Gpt2Bpe } kind = Kind::None;
    std::string modelFile;  // SentencePieceFile: path to tokenizer.model
    // Embedded vocabularies (GGUF tokenizer.ggml.*):
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<std::int32_t> tokenTypes;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
    std::vector<std::string> merges;       // gpt2: "a b" by rank
    std::string pre;                       // gpt2: pre-tokenizer name (tokenizer.ggml.pre)
    int bosId = -1, eosId = -1, unkId = -1, padId = -1;  // -1: none, or outside the vocabulary
    // End-of-turn ids the file declares besides EOS (GGUF tokenizer.ggml.eot_token_id and
    // eom_token_id; the rest of a config.json "eos_token_id" list): generation stops at them.
    std::vector<std::int32_t> endOfTurnIds;
    std::int64_t declaredBosId = -1;      // the BOS id as the file gives it (-1: absent), for error messages
    bool addBos = false;                  // model's own default (we add none unless asked)
    bool addSpacePrefix = true;           // SentencePiece add_dummy_prefix
    bool removeExtraWhitespaces = false;  // SentencePiece normalizer setting (GGUF key
                                          // tokenizer.ggml.remove_extra_whitespaces when present)
};

struct LoadedModel {
    std::string path;    // file or folder the user opened
    std::string format;  // "gguf" or "safetensors"
    ModelConfig config;
    ModelWeights weights;
    TokenizerSpec tokenizer;
    std::map<std::string, int> tensorTypeCounts;                // "F32" → 48
    std::vector<std::pair<std::string, std::string>> metadata;  // selected key/values for `info`
    std::uint64_t parameterCount = 0;
    std::uint64_t weightBytes = 0;

    // Storage: mapped files and any converted buffers the views point into.
    std::vector<std::shared_ptr<const MappedFile>> files;
    std::vector<std::shared_ptr<std::vector<std::uint8_t>>> buffers;
};

// A number as the loaders write it into LoadedModel::metadata (up to 6 significant digits:
// "10000", "1e+06").
std::string metadataNumber(double x);

}  // namespace attnscope
