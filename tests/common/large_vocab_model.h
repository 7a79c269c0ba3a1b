#pragma once
// A small random llama GGUF with a large embedded SentencePiece vocabulary: opening it takes
// about as long as opening Gemma 3 (whose 262,144-piece vocabulary dominates its open time), so
// tests can stop an open while it runs.
#include <string>

#include "core/error.h"

namespace attnscope::test {

// Writes the model to `path` (dim 32, 2 layers, tied output, F32) with `vocab` pieces: <unk>,
// <s>, </s>, the 256 byte pieces, then distinct word pieces.
Result<void> writeLargeVocabGguf(const std::string& path, int vocab = 262144);

}  // namespace attnscope::test
