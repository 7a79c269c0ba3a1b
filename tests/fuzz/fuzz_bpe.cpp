// Byte-level BPE tokenizers. The first input byte picks what the rest is:
//   0..2: text, encoded with the Qwen2, Llama-3 or GPT-2 test vocabulary (tests/data/bpe);
//   3:    a vocabulary: tokens one per line, a blank line, then merges one per line; the
//         pre-tokeniser is the second byte's pick of gpt2, llama-bpe or qwen2. It is built and
//         then used on a sample text.
#include <array>
#include <filesystem>

#include "core/json.h"
#include "fuzz_support.h"
#include "tokenizer/bpe_tokenizer.h"

#ifndef ATTNSCOPE_FUZZ_TEST_DATA
#define ATTNSCOPE_FUZZ_TEST_DATA "tests/data"
#endif

using namespace attnscope;

namespace {

std::string testDataDir() {
    const char* dir = std::getenv("ATTNSCOPE_TEST_DATA");
    return dir && *dir ? dir : ATTNSCOPE_FUZZ_TEST_DATA;
}

// A tests/data/bpe fixture's vocabulary (tokens, types, merges, pre-tokeniser, special ids).
std::shared_ptr<const Tokenizer> fixture(const std::string& name) {
    const auto path = (std::filesystem::path(testDataDir()) / "bpe" / (name + ".json")).string();
    auto doc = Json::parseFile(path);
    if (!doc) fuzz::violated(doc.error().describe());
    TokenizerSpec s;
    s.kind = TokenizerSpec::Kind::Gpt2Bpe;
    s.pre = doc->find("pre")->asString();
    for (const Json& t : doc->find("tokens")->asArray()) s.tokens.push_back(t.asString());
    for (const Json& t : doc->find("token_types")->asArray()) s.tokenTypes.push_back(static_cast<int>(t.asInt()));
    for (const Json& m : doc->find("merges")->asArray()) s.merges.push_back(m.asString());
    s.bosId = static_cast<int>(doc->find("bos_id")->asInt());
    s.eosId = static_cast<int>(doc->find("eos_id")->asInt());
    auto tok = makeBpeTokenizer(s, path);
    if (!tok) fuzz::violated(tok.error().describe());
    return *tok;
}

const std::array<std::shared_ptr<const Tokenizer>, 3>& vocabularies() {
    static const std::array<std::shared_ptr<const Tokenizer>, 3> all{fixture("qwen2"), fixture("llama3"),
                                                                     fixture("gpt2")};
    return all;
}

std::vector<std::string> lines(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        out.emplace_back(text.substr(0, end));
        text.remove_prefix(std::min(end + 1, text.size()));
    }
    return out;
}

TokenizerSpec specFromBytes(std::string_view text, std::uint8_t pick) {
    constexpr std::array<const char*, 3> pre{"gpt2", "llama-bpe", "qwen2"};
    TokenizerSpec s;
    s.kind = TokenizerSpec::Kind::Gpt2Bpe;
    s.pre = pre[pick % 3];
    const std::size_t blank = std::min(text.find("\n\n"), text.size());
    s.tokens = lines(text.substr(0, blank));
    s.merges = lines(text.substr(std::min(blank + 2, text.size())));
    return s;
}

constexpr std::string_view kSample =
    "Once upon a time,  there was\n\ta caf\xC3\xA9 <|im_start|> \xF0\x9F\x98\x80 1234!";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned mode = data[0] % 4;
    if (mode < 3) {
        fuzz::exerciseTokenizer(*vocabularies()[mode], fuzz::inputText(data + 1, size - 1));
        return 0;
    }
    if (size < 2) return 0;
    auto tok = makeBpeTokenizer(specFromBytes(fuzz::inputText(data + 2, size - 2), data[1]), "fuzz.gguf");
    if (tok) fuzz::exerciseTokenizer(**tok, kSample);
    return 0;
}
