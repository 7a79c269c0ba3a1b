// Byte-level BPE: exact ids against the Hugging Face `tokenizers` library on every fixture
// (tests/data/bpe/*.json, written by tests/reference/make_bpe_fixtures.py: Llama-3, Qwen2 and
// GPT-2 pre-tokenisers over small trained vocabularies and over vocabularies made of each test
// text's own pre-tokens, and a pruned slice of the real Qwen2 vocabulary checked against
// tiktoken), decode round trips, display text,
// pre-tokeniser selection by name, invalid UTF-8, and malformed vocabularies.
//
// Environment (set by CTest): ATTNSCOPE_TEST_DATA (fixtures; defaults to tests/data).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_vocabularies.h"

namespace attnscope {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<std::int32_t>;

fs::path fixtureDir() {
    const char* env = std::getenv("ATTNSCOPE_TEST_DATA");
    return fs::path(env && *env ? env : "tests/data") / "bpe";
}

struct Fixture {
    std::string name;
    TokenizerSpec spec;
    std::vector<std::pair<std::string, Ids>> cases;
};

Fixture loadFixture(const std::string& name) {
    Fixture f;
    f.name = name;
    const auto path = (fixtureDir() / (name + ".json")).string();
    auto doc = Json::parseFile(path);
    EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().describe());
    if (!doc.ok()) return f;
    f.spec = tokenizer_test::bpeSpecFromFixture(*doc, path);
    for (const Json& c : doc->find("cases")->asArray()) {
        Ids ids;
        for (const Json& v : c.find("ids")->asArray()) ids.push_back(static_cast<std::int32_t>(v.asInt()));
        f.cases.emplace_back(c.find("text")->asString(), std::move(ids));
    }
    return f;
}

std::shared_ptr<const Tokenizer> makeOrFail(const TokenizerSpec& spec) {
    auto tok = makeBpeTokenizer(spec, "test.gguf");
    EXPECT_TRUE(tok.ok()) << (tok.ok() ? "" : tok.error().describe());
    return tok.ok() ? tok.value() : nullptr;
}

std::string showPieces(const Tokenizer& tok, const Ids& ids) {
    std::string s;
    for (auto id : ids) s += "[" + std::to_string(id) + " " + tok.piece(id) + "] ";
    return s;
}

const char* const kFixtures[] = {"llama3",       "qwen2",        "gpt2",       "llama3-pretok",
                                 "qwen2-pretok", "gpt2-pretok",  "qwen2-vocab"};

bool writesControlToken(const TokenizerSpec& spec, const std::string& text) {
    for (std::size_t i = 0; i < spec.tokens.size(); ++i)
        if (spec.tokenTypes[i] == 3 && !spec.tokens[i].empty() && text.find(spec.tokens[i]) != std::string::npos)
            return true;
    return false;
}

class BpeFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(BpeFixture, IdsMatchReferenceOnEveryText) {
    const Fixture f = loadFixture(GetParam());
    ASSERT_FALSE(f.cases.empty());
    auto tok = makeOrFail(f.spec);
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->kind(), "gpt2-bpe");
    EXPECT_EQ(tok->vocabSize(), static_cast<int>(f.spec.tokens.size()));
    EXPECT_EQ(tok->bosId(), f.spec.bosId);
    EXPECT_EQ(tok->eosId(), f.spec.eosId);
    int failures = 0;
    for (const auto& [text, expected] : f.cases) {
        // The references split control tokens ("<|eot_id|>") out of the text; attnscope reads
        // them as text, as llama.cpp does (test_tokenizer_parity checks such texts).
        if (writesControlToken(f.spec, text)) continue;
        auto got = tok->encode(text);
        ASSERT_TRUE(got.ok()) << got.error().describe();
        if (*got != expected) {
            ++failures;
            ADD_FAILURE() << f.name << ": text \"" << text << "\"\n  got      " << showPieces(*tok, *got)
                          << "\n  expected " << showPieces(*tok, expected);
        }
        EXPECT_EQ(tok->decode(expected), text) << f.name;
    }
    EXPECT_EQ(failures, 0) << f.name << ": " << failures << " of " << f.cases.size() << " texts differ";
}

TEST_P(BpeFixture, DecodeRoundTripsRandomText) {
    const Fixture f = loadFixture(GetParam());
    auto tok = makeOrFail(f.spec);
    ASSERT_TRUE(tok);
    std::mt19937 rng(99);
    // Random code points from several scripts, spaces and newlines, plus raw (often invalid) bytes.
    const std::vector<std::pair<char32_t, char32_t>> blocks = {
        {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x17F}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA},
        {0x621, 0x64A}, {0x900, 0x97F}, {0x3040, 0x30FF}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x2000, 0x206F}};
    auto put = [](std::string& s, char32_t c) {
        if (c < 0x80) s += static_cast<char>(c);
        else if (c < 0x800) s += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
        else if (c < 0x10000)
            s += {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
                  static_cast<char>(0x80 | (c & 0x3F))};
        else
            s += {static_cast<char>(0xF0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
                  static_cast<char>(0x80 | ((c >> 6) & 0x3F)), static_cast<char>(0x80 | (c & 0x3F))};
    };
    for (int round = 0; round < 300; ++round) {
        std::string s;
        const int len = static_cast<int>(rng() % 60);
        for (int k = 0; k < len; ++k) {
            if (rng() % 20 == 0) {
                s += static_cast<char>(rng() % 256);
                continue;
            }
            const auto& b = blocks[rng() % blocks.size()];
            put(s, b.first + static_cast<char32_t>(rng() % (b.second - b.first + 1)));
        }
        const int special = f.spec.bosId >= 0 ? f.spec.bosId : f.spec.eosId;
        if (rng() % 4 == 0) s.insert(rng() % (s.size() + 1), f.spec.tokens[static_cast<std::size_t>(special)]);
        auto ids = tok->encode(s);
        ASSERT_TRUE(ids.ok()) << ids.error().describe();
        for (auto id : *ids) ASSERT_TRUE(id >= 0 && id < tok->vocabSize());
        ASSERT_EQ(tok->decode(*ids), s) << f.name << " round " << round;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BpeFixture, ::testing::ValuesIn(kFixtures),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& ch : name)
                                 if (ch == '-') ch = '_';
                             return name;
                         });

// ---- Hand-built vocabularies ------------------------------------------------------------------

// GPT-2's byte alphabet, written independently of the tokenizer: printable Latin-1 maps to
// itself, the rest to U+0100.. in byte order.
std::vector<std::string> byteTokens() {
    std::vector<std::string> out;
    int next = 0x100;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        const int c = printable ? b : next++;
        std::string s;
        if (c < 0x80) s += static_cast<char>(c);
        else s += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
        out.push_back(s);
    }
    return out;
}

TokenizerSpec bytesOnlySpec(const std::string& pre) {
    TokenizerSpec s;
    s.kind = TokenizerSpec::Kind::Gpt2Bpe;
    s.pre = pre;
    s.tokens = byteTokens();
    s.tokenTypes.assign(s.tokens.size(), 1);
    s.merges = {"\xC4\xA0 \xC4\xA0"};  // never applies ("ĠĠ" is no token); a vocabulary without merges is refused
    return s;
}

int idOf(const TokenizerSpec& s, const std::string& token) {
    for (std::size_t i = 0; i < s.tokens.size(); ++i)
        if (s.tokens[i] == token) return static_cast<int>(i);
    return -1;
}

TEST(BpeTokenizer, ByteAlphabet) {
    const auto toks = byteTokens();
    EXPECT_EQ(toks[' '], "\xC4\xA0");   // Ġ
    EXPECT_EQ(toks['\n'], "\xC4\x8A");  // Ċ
    EXPECT_EQ(toks['A'], "A");
    EXPECT_EQ(toks[0xAD], "\xC5\x83");  // soft hyphen is the last remapped byte: U+0143
    auto tok = makeOrFail(bytesOnlySpec("gpt2"));
    ASSERT_TRUE(tok);
    for (int b = 0; b < 256; ++b) {
        const std::string one(1, static_cast<char>(b));
        auto ids = tok->encode(one);
        ASSERT_TRUE(ids.ok());
        ASSERT_EQ(*ids, Ids{b}) << b;
        EXPECT_EQ(tok->decode(*ids), one);
    }
}

TEST(BpeTokenizer, PreTokenizerChosenByName) {
    // Digits "123456" with merges that would join all six: GPT-2's \p{N}+ keeps the run whole,
    // Llama-3's \p{N}{1,3} cuts it in threes, Qwen2's \p{N} into single digits.
    TokenizerSpec s = bytesOnlySpec("");
    for (const char* t : {"12", "123", "45", "456", "123456"}) s.tokens.push_back(t);
    s.tokenTypes.assign(s.tokens.size(), 1);
    s.merges = {"1 2", "12 3", "4 5", "45 6", "123 456"};
    const int id123 = idOf(s, "123"), id456 = idOf(s, "456"), idAll = idOf(s, "123456");
    const Ids digits = {'1', '2', '3', '4', '5', '6'};
    struct Row { const char* pre; Ids want; };
    for (const Row& r : {Row{"gpt2", {idAll}}, Row{"gpt-2", {idAll}}, Row{"default", {idAll}},
                         Row{"something-new", {idAll}}, Row{"llama-bpe", {id123, id456}},
                         Row{"llama3", {id123, id456}}, Row{"smaug-bpe", {id123, id456}}, Row{"qwen2", digits}}) {
        s.pre = r.pre;
        auto tok = makeOrFail(s);
        ASSERT_TRUE(tok);
        auto ids = tok->encode("123456");
        ASSERT_TRUE(ids.ok());
        EXPECT_EQ(*ids, r.want) << "pre = " << r.pre << ": " << showPieces(*tok, *ids);
    }
}

TEST(BpeTokenizer, LlamaPreTokenFoundWholeSkipsMerges) {
    // "abc" is in the vocabulary, but the merges only build "ab": Llama-3 (ignore_merges) emits
    // "abc" whole, GPT-2 style merging gives "ab" + "c".
    TokenizerSpec s = bytesOnlySpec("");
    s.tokens.push_back("ab");
    s.tokens.push_back("abc");
    s.tokenTypes.assign(s.tokens.size(), 1);
    s.merges = {"a b"};
    s.pre = "llama-bpe";
    auto llama = makeOrFail(s);
    s.pre = "gpt2";
    auto gpt2 = makeOrFail(s);
    ASSERT_TRUE(llama && gpt2);
    EXPECT_EQ(*llama->encode("abc"), (Ids{idOf(s, "abc")}));
    EXPECT_EQ(*gpt2->encode("abc"), (Ids{idOf(s, "ab"), 'c'}));
}

TEST(BpeTokenizer, MergesApplyByRankThenLeftmost) {
    TokenizerSpec s = bytesOnlySpec("gpt2");
    for (const char* t : {"aa", "aaa", "bc", "abc"}) s.tokens.push_back(t);
    s.tokenTypes.assign(s.tokens.size(), 1);
    s.merges = {"b c", "a a", "a bc", "aa a"};
    auto tok = makeOrFail(s);
    ASSERT_TRUE(tok);
    // "aaa": "a a" applies leftmost first → "aa" "a" → "aaa".
    EXPECT_EQ(*tok->encode("aaa"), (Ids{idOf(s, "aaa")}));
    // "aaaa": leftmost pairs → "aa" "aa"; no merge "aa aa".
    EXPECT_EQ(*tok->encode("aaaa"), (Ids{idOf(s, "aa"), idOf(s, "aa")}));
    // "abc": "b c" (rank 0) before anything else, then "a bc".
    EXPECT_EQ(*tok->encode("abc"), (Ids{idOf(s, "abc")}));
    // "aabc": "b c" first, then "a a" (rank 1) beats "a bc" (rank 2): "aa" "bc".
    EXPECT_EQ(*tok->encode("aabc"), (Ids{idOf(s, "aa"), idOf(s, "bc")}));
}

// User-defined tokens are matched verbatim, longest first; control and normal tokens written in
// the text are text (llama.cpp's parse_special=false).
TEST(BpeTokenizer, UserDefinedTokensMatchedVerbatimLongestFirst) {
    TokenizerSpec s = bytesOnlySpec("llama-bpe");
    s.tokens.push_back("<|a|>");
    s.tokens.push_back("<|a|><|a|>");  // longer token wins where both match
    s.tokens.push_back("<user>");
    s.tokens.push_back("<normal>");     // a normal token is never matched verbatim
    s.tokens.push_back("<|control|>");  // nor is a control token
    s.tokenTypes.assign(s.tokens.size(), 1);
    s.tokenTypes[256] = 4;
    s.tokenTypes[257] = 4;
    s.tokenTypes[258] = 4;
    s.tokenTypes[260] = 3;
    auto tok = makeOrFail(s);
    ASSERT_TRUE(tok);
    auto ids = tok->encode("x<|a|><|a|><|a|> <user>");
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, (Ids{'x', 257, 256, idOf(s, "\xC4\xA0"), 258}));
    for (const char* text : {"<normal>", "<|control|>"}) {
        auto plain = tok->encode(text);
        ASSERT_TRUE(plain.ok());
        EXPECT_EQ(plain->size(), std::string(text).size()) << text;  // one byte token each
        EXPECT_EQ(tok->decode(*plain), text);
    }
    EXPECT_EQ(tok->decode({260}), "<|control|>");
    EXPECT_EQ(tok->decode(*ids), "x<|a|><|a|><|a|> <user>");
    EXPECT_EQ(tok->tokenText(257), "<|a|><|a|>");
    EXPECT_EQ(tok->piece(258), "<user>");
}

TEST(BpeTokenizer, TokenTextAndPieces) {
    TokenizerSpec s = bytesOnlySpec("llama-bpe");
    s.tokens.push_back("\xC4\xA0the");          // "Ġthe"
    s.tokens.push_back("\xC3\xA4\xC2\xB8");     // bytes E4 B8: first two bytes of 中 (E4 B8 AD)
    s.tokens.push_back("\xC4\x8A\xC4\x8A");     // "ĊĊ"
    s.tokenTypes.assign(s.tokens.size(), 1);
    auto tok = makeOrFail(s);
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->piece(256), "\xC4\xA0the");
    EXPECT_EQ(tok->tokenText(256), " the");
    EXPECT_EQ(tok->tokenText(257), "<0xE4><0xB8>");
    EXPECT_EQ(tok->tokenText(258), "\n\n");
    EXPECT_EQ(tok->tokenText(' '), " ");
    EXPECT_EQ(tok->tokenText(0xAD), "<0xAD>");
    EXPECT_EQ(tok->piece(-1), "");
    EXPECT_EQ(tok->piece(100000), "");
    EXPECT_EQ(tok->tokenText(100000), "");
    EXPECT_EQ(tok->decode({256, -5, 999999, 257, 0xAD}), std::string(" the\xE4\xB8\xAD"));
}

TEST(BpeTokenizer, InvalidUtf8IsByteEncodedAndRoundTrips) {
    const Fixture f = loadFixture("llama3");
    auto tok = makeOrFail(f.spec);
    ASSERT_TRUE(tok);
    for (const std::string& text : {std::string("\xFF\xFE abc \xC3"), std::string("ok\xE4\xB8 cut"),
                                   std::string("\xED\xA0\x80 surrogate"), std::string("over\xC0\xAFlong"),
                                   std::string("nul\0inside", 10)}) {
        auto ids = tok->encode(text);
        ASSERT_TRUE(ids.ok()) << ids.error().describe();
        EXPECT_EQ(tok->decode(*ids), text);
    }
}

TEST(BpeTokenizer, LongRunsStayFast) {
    const Fixture f = loadFixture("gpt2");
    auto tok = makeOrFail(f.spec);
    ASSERT_TRUE(tok);
    const std::string longWord(200000, 'e');  // one pre-token of 200k bytes
    std::string mixed;
    for (int i = 0; i < 20000; ++i) mixed += "the quick 123 fox; ";
    const auto t0 = std::chrono::steady_clock::now();
    auto a = tok->encode(longWord);
    auto b = tok->encode(mixed);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(tok->decode(*a), longWord);
    EXPECT_EQ(tok->decode(*b), mixed);
    EXPECT_LT(secs, 10.0);
}

// A byte-level BPE vocabulary without merges would cut every word into bytes: refused, naming
// the file and the key.
TEST(BpeTokenizer, VocabularyWithoutMergesIsRefused) {
    TokenizerSpec s = bytesOnlySpec("gpt2");
    s.merges.clear();
    auto tok = makeBpeTokenizer(s, "test.gguf");
    ASSERT_FALSE(tok.ok());
    EXPECT_EQ(tok.error().kind, ErrorKind::Format);
    EXPECT_EQ(tok.error().describe(), "test.gguf: byte-level BPE vocabulary has no merges (tokenizer.ggml.merges)");
}

TEST(BpeTokenizer, MissingByteTokens) {
    TokenizerSpec s;
    s.kind = TokenizerSpec::Kind::Gpt2Bpe;
    s.pre = "gpt2";
    s.tokens = {"a", "b", "<unk>"};
    s.merges = {"a b"};
    auto tok = makeOrFail(s);
    ASSERT_TRUE(tok);
    auto bad = tok->encode("abc");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().kind, ErrorKind::Unsupported);
    EXPECT_EQ(bad.error().file, "test.gguf");
    s.unkId = 2;
    tok = makeOrFail(s);
    ASSERT_TRUE(tok);
    auto ids = tok->encode("abc");
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, (Ids{0, 1, 2}));
}

TEST(BpeTokenizer, MalformedVocabulariesAreErrors) {
    TokenizerSpec empty;
    empty.kind = TokenizerSpec::Kind::Gpt2Bpe;
    auto r = makeBpeTokenizer(empty, "m.gguf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Format);
    EXPECT_EQ(r.error().file, "m.gguf");

    TokenizerSpec types = bytesOnlySpec("gpt2");
    types.tokenTypes.resize(10);
    r = makeBpeTokenizer(types, "m.gguf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Format);

    for (const char* merge : {"nospace", "a ", " ", ""}) {
        TokenizerSpec m = bytesOnlySpec("gpt2");
        m.merges = {"a b", merge};
        r = makeBpeTokenizer(m, "m.gguf");
        ASSERT_FALSE(r.ok()) << "merge \"" << merge << "\"";
        EXPECT_EQ(r.error().kind, ErrorKind::Format);
        EXPECT_NE(r.error().message.find("merge 1"), std::string::npos) << r.error().message;
    }

    // Merges naming unknown tokens are skipped, not fatal; out-of-range special ids become -1.
    TokenizerSpec unknown = bytesOnlySpec("gpt2");
    unknown.merges = {"zz q", "a b"};
    unknown.bosId = 100000;
    auto ok = makeOrFail(unknown);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->bosId(), -1);
    EXPECT_EQ(*ok->encode("ab"), (Ids{'a', 'b'}));  // "ab" is not in the vocabulary
}

}  // namespace
}  // namespace attnscope
