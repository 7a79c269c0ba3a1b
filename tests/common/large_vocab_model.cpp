#include "common/large_vocab_model.h"

#include <cstdio>
#include <filesystem>

#include "common/model_writers.h"
#include "model/gguf_reader.h"

namespace attnscope::test {

namespace {

// The tokenizer.ggml.* keys of a SentencePiece vocabulary with `vocab` pieces.
Result<void> writeVocabulary(const std::string& path, int vocab) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<std::int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        tokens.push_back(piece);
        scores.push_back(0);
        types.push_back(6);
    }
    for (int i = 0; static_cast<int>(tokens.size()) < vocab; ++i) {
        tokens.push_back("\xE2\x96\x81w" + std::to_string(i));  // "▁w<i>"
        scores.push_back(-static_cast<float>(i));
        types.push_back(1);
    }
    GgufWriter w;
    w.add("tokenizer.ggml.model", ggufString("llama"));
    w.add("tokenizer.ggml.tokens", ggufStringArray(tokens));
    w.add("tokenizer.ggml.scores", ggufF32Array(scores));
    w.add("tokenizer.ggml.token_type", ggufI32Array(types));
    w.add("tokenizer.ggml.unknown_token_id", ggufU32(0));
    w.add("tokenizer.ggml.bos_token_id", ggufU32(1));
    w.add("tokenizer.ggml.eos_token_id", ggufU32(2));
    return w.write(path);
}

}  // namespace

Result<void> writeLargeVocabGguf(const std::string& path, int vocab) {
    const std::string vocabPath = path + ".vocab.gguf";
    ATTN_TRY(writeVocabulary(vocabPath, vocab));
    auto source = GgufFile::open(vocabPath);
    if (!source) return source.takeError();
    RandomLlamaSpec spec;
    spec.name = "random-large-vocab";
    spec.dim = 32, spec.layers = 2, spec.heads = 2, spec.kvHeads = 2, spec.ffn = 64, spec.vocab = vocab;
    spec.tiedOutput = true;
    spec.tokenizerFrom = &*source;
    auto written = writeRandomLlamaGguf(path, spec);
    std::error_code ec;
    std::filesystem::remove(vocabPath, ec);
    return written;
}

}  // namespace attnscope::test
