#pragma once
// Text ↔ token ids. One interface for SentencePiece (file or GGUF-embedded vocabulary) and
// byte-level BPE (GGUF "gpt2" vocabularies).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/loaded_model.h"

namespace attnscope {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual std::string kind() const = 0;  // "sentencepiece", "gpt2-bpe"
    virtual int vocabSize() const = 0;
    // Encodes text without adding BOS/EOS (the encoding plan decides about BOS).
    virtual Result<std::vector<std::int32_t>> encode(std::string_view text) const = 0;
    virtual std::string decode(const std::vector<std::int32_t>& ids) const = 0;
    // The piece as stored in the vocabulary (e.g. "▁Once", "<0x0A>"); empty if out of range.
    virtual std::string piece(std::int32_t id) const = 0;
    // Human-readable text of one token for display (byte pieces decoded, "▁" as a space).
    virtual std::string tokenText(std::int32_t id) const = 0;
    virtual int bosId() const = 0;
    virtual int eosId() const = 0;
};

// Builds the tokenizer a model declares. Unsupported kinds give an Error naming what is missing.
Result<std::shared_ptr<const Tokenizer>> makeTokenizer(const TokenizerSpec& spec, const std::string& modelPath);
// Opens a bare SentencePiece tokenizer.model.
Result<std::shared_ptr<const Tokenizer>> loadSentencePieceFile(const std::string& path);

}  // namespace attnscope
