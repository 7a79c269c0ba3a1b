// SentencePiece tokenizers. The first input byte picks what the rest is:
//   0: text, encoded with the stories260K GGUF's embedded vocabulary;
//   1: text, encoded with tok512.model;
//   2: text, encoded with the Llama 2 tokenizer.model;
//   3: the bytes of a tokenizer.model, loaded and then used on a sample text.
// The vocabularies come from $ATTNSCOPE_MODELS; a missing one leaves its mode idle.
#include <array>
#include <filesystem>

#include "fuzz_support.h"
#include "model/gguf_model_loader.h"
#include "tokenizer/sentencepiece_tokenizer.h"

using namespace attnscope;

namespace {

std::shared_ptr<const Tokenizer> orNull(Result<std::shared_ptr<const Tokenizer>> tok) {
    if (!tok) std::fprintf(stderr, "fuzz_sentencepiece: %s\n", tok.error().describe().c_str());
    return tok ? *tok : nullptr;
}

std::shared_ptr<const Tokenizer> fromGguf(const std::string& path) {
    auto gguf = GgufFile::open(path);
    if (!gguf) return orNull(gguf.takeError());
    auto spec = ggufTokenizerSpec(*gguf);
    return spec ? orNull(makeTokenizer(*spec, path)) : orNull(spec.takeError());
}

const std::array<std::shared_ptr<const Tokenizer>, 3>& vocabularies() {
    static const std::array<std::shared_ptr<const Tokenizer>, 3> all = [] {
        const std::filesystem::path dir = fuzz::modelsDir();
        return std::array<std::shared_ptr<const Tokenizer>, 3>{
            fromGguf((dir / "stories260K.gguf").string()),
            orNull(loadSentencePieceFile((dir / "tok512.model").string())),
            orNull(loadSentencePieceFile((dir / "llama2-tokenizer.model").string()))};
    }();
    return all;
}

constexpr std::string_view kSample = "Once upon a time,  there was\n\ta caf\xC3\xA9 <s> \xF0\x9F\x98\x80 1234!";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest = fuzz::inputText(data + 1, size - 1);
    const unsigned mode = data[0] % 4;
    if (mode < 3) {
        if (const auto& tok = vocabularies()[mode]) fuzz::exerciseTokenizer(*tok, rest);
        return 0;
    }
    if (auto tok = makeSentencePieceTokenizer(rest, "fuzz.model")) fuzz::exerciseTokenizer(**tok, kSample);
    return 0;
}
