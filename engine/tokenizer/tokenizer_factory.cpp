// Chooses the tokenizer a model declares (TokenizerSpec from the loaders) and opens bare
// tokenizer.model files.
#include <filesystem>
#include <system_error>

#include "core/json.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

namespace {
// Real tokenizer.model files are a few MB; anything far larger is not one.
constexpr std::uint64_t kMaxSentencePieceFileBytes = 256ull << 20;
}  // namespace

Result<std::shared_ptr<const Tokenizer>> loadSentencePieceFile(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return makeError(ErrorKind::Io, "cannot open SentencePiece model: no such file", path);
    if (!std::filesystem::is_regular_file(path, ec))
        return makeError(ErrorKind::Io, "cannot open SentencePiece model: not a regular file", path);
    auto bytes = readFile(path, kMaxSentencePieceFileBytes);
    if (!bytes) return bytes.takeError();
    return makeSentencePieceTokenizer(std::string_view(*bytes), path);
}

Result<std::shared_ptr<const Tokenizer>> makeTokenizer(const TokenizerSpec& spec, const std::string& modelPath) {
    switch (spec.kind) {
        case TokenizerSpec::Kind::SentencePieceFile:
            if (spec.modelFile.empty())
                return makeError(ErrorKind::Format, "the model names no tokenizer.model file", modelPath);
            return loadSentencePieceFile(spec.modelFile);
        case TokenizerSpec::Kind::SentencePieceEmbedded: {
            SentencePieceVocabOptions options;
            options.removeExtraWhitespaces = spec.removeExtraWhitespaces;
            return makeSentencePieceTokenizer(spec, modelPath, options);
        }
        case TokenizerSpec::Kind::Gpt2Bpe: return makeBpeTokenizer(spec, modelPath);
        case TokenizerSpec::Kind::None: break;
    }
    return makeError(ErrorKind::Unsupported,
                     "the model has no tokenizer we can use (no tokenizer.model and no supported embedded "
                     "vocabulary)",
                     modelPath);
}

}  // namespace attnscope
