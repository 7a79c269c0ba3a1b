#pragma once
// SentencePiece tokenizers over libsentencepiece: from a tokenizer.model file, or from a
// vocabulary embedded in a GGUF file (tokenizer.ggml.model = "llama"), which is turned back into
// a SentencePiece ModelProto so that both paths run the same library code.
//
// Special tokens in the text: control pieces ("<s>", "<bos>", "<start_of_turn>") are never
// matched; they are ordinary text, as in llama.cpp with parse_special=false. User-defined pieces
// (Gemma 3's "<s>", "\n\n", runs of spaces) are matched wherever they occur.
//
// The tokenizers are immutable and safe to share between threads. encode() never adds BOS/EOS;
// tokenText() shows "▁" as a space and byte pieces as their character ("<0x0A>" → "\n"), except
// bytes >= 0x80, which are not characters on their own and keep their "<0xE2>" spelling.
//
// Without libsentencepiece (ATTNSCOPE_HAVE_SENTENCEPIECE undefined) the factories return an
// Unsupported error; serializeSentencePieceModel() needs no library.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/loaded_model.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

// Settings an embedded vocabulary does not record (GGUF keeps tokens, scores, types, special ids
// and add_space_prefix only).
struct SentencePieceVocabOptions {
    // SentencePiece's remove_extra_whitespaces: strip leading/trailing spaces and collapse runs of
    // spaces before encoding. Off by default, as llama.cpp tokenizes GGUF "llama" vocabularies and
    // as Llama 2 / Mistral tokenizer.model files do; tok512.model (stories260K) has it on.
    bool removeExtraWhitespaces = false;
};

// True when this build links libsentencepiece.
bool sentencePieceAvailable();

// Serialises a SentencePiece ModelProto (protobuf wire format) from an embedded vocabulary:
// pieces with scores and types, the trainer settings encoding depends on (model type, byte
// fallback, special pieces, whitespace-only pieces) and an identity normalizer. The model type is
// BPE unless the scores of normal pieces are not all integers (then unigram log-probabilities).
// Byte fallback is on when the vocabulary has byte pieces (type 6, "<0x00>".."<0xFF>").
// User-defined pieces that GGUF converters spell with plain spaces (Gemma 3's "  ", "   ", ...)
// are stored with "▁" for each space, so that SentencePiece matches them in its escaped text as
// llama.cpp matches them in the raw text; piece() still gives the GGUF spelling.
Result<std::string> serializeSentencePieceModel(const TokenizerSpec& spec,
                                                const SentencePieceVocabOptions& options = {});

// Loads a serialized ModelProto (the bytes of a tokenizer.model). `file` names the source in
// errors. The top-level protobuf structure is checked first, so a file that is not a
// SentencePiece model gives a Format error with the byte offset where it stops making sense.
Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(std::string_view serializedModel,
                                                                    const std::string& file);

// Builds the tokenizer for a GGUF-embedded SentencePiece vocabulary
// (TokenizerSpec::Kind::SentencePieceEmbedded). `modelPath` names the GGUF file in errors.
Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(const TokenizerSpec& spec,
                                                                    const std::string& modelPath,
                                                                    const SentencePieceVocabOptions& options = {});

}  // namespace attnscope
