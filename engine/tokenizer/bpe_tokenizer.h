#pragma once
// Byte-level BPE tokenizer for GGUF "gpt2" vocabularies (Llama-3, Qwen2, GPT-2 and kin).
//
// Built from TokenizerSpec: tokens (in id order, in GPT-2's printable byte alphabet), token
// types (4 user-defined tokens are matched verbatim in the text before pre-tokenisation; 3
// control tokens are not, as llama.cpp with parse_special=false), merges ("left right" by rank)
// and the pre-tokeniser name (`pre`: "llama-bpe"/"llama3" → Llama-3's regex, "qwen2" → Qwen2's,
// anything else → GPT-2's). encode() adds no BOS/EOS. tokenText() shows a token's bytes as UTF-8,
// with bytes that do not form complete UTF-8 characters written as "<0xNN>". The returned
// tokenizer is immutable and safe to use from several threads.
#include <memory>
#include <string>

#include "core/error.h"
#include "model/loaded_model.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

// `modelPath` only labels errors (e.g. a malformed merge entry).
Result<std::shared_ptr<const Tokenizer>> makeBpeTokenizer(const TokenizerSpec& spec, const std::string& modelPath);

}  // namespace attnscope
