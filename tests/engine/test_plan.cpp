// EncodingPlan: layout, the paper's position rules, BOS policies, visibility, hashes, errors.
#include <gtest/gtest.h>

#include "plan/encoding_plan.h"
#include "tokenizer/tokenizer.h"

using namespace attnscope;

namespace {
ContextSpec spec(int prefix, std::vector<int> chunks, int query) {
    ContextSpec s;
    int next = 10;
    auto draw = [&](int n) {
        std::vector<std::int32_t> v;
        for (int i = 0; i < n; ++i) v.push_back(next++);
        return v;
    };
    s.prefixIds = draw(prefix);
    std::vector<std::vector<std::int32_t>> c;
    for (int n : chunks) c.push_back(draw(n));
    s.chunkIds = c;
    s.queryIds = draw(query);
    return s;
}
std::vector<int> range(int a, int b) {
    std::vector<int> v;
    for (int i = a; i < b; ++i) v.push_back(i);
    return v;
}
}  // namespace

TEST(Plan, StretchPositionsFollowThePaper) {
    // S = 2, chunks of 4 and 2 tokens (M = 4), query of 3.
    auto p = buildPlan(spec(2, {4, 2}, 3), {}, nullptr, 1000);
    ASSERT_TRUE(p.ok()) << p.error().describe();
    std::vector<int> expected = {0, 1, /*chunk 0*/ 2, 3, 4, 5, /*chunk 1: S + floor(t*4/2)*/ 2, 4, /*query*/ 6, 7, 8};
    EXPECT_EQ(std::vector<int>(p->positions.begin(), p->positions.end()), expected);
    EXPECT_EQ(p->prefixLength, 2);
    EXPECT_EQ(p->queryBegin, 8);
    EXPECT_EQ(p->chunkCount(), 2);
    EXPECT_EQ(p->chunkRanges[1].begin, 6);
    EXPECT_EQ(p->chunkRanges[1].end, 8);
}

TEST(Plan, RestartAndSequentialPositions) {
    EncodingOptions o;
    o.positions = PositionPolicy::Restart;
    auto p = buildPlan(spec(2, {4, 2}, 3), o, nullptr, 1000);
    ASSERT_TRUE(p.ok());
    std::vector<int> expected = {0, 1, 2, 3, 4, 5, 2, 3, 6, 7, 8};
    EXPECT_EQ(std::vector<int>(p->positions.begin(), p->positions.end()), expected);
    o.positions = PositionPolicy::Sequential;
    p = buildPlan(spec(2, {4, 2}, 3), o, nullptr, 1000);
    EXPECT_EQ(std::vector<int>(p->positions.begin(), p->positions.end()), range(0, 11));
    EncodingOptions full;
    full.mode = EncodingMode::Full;
    p = buildPlan(spec(2, {4, 2}, 3), full, nullptr, 1000);
    EXPECT_EQ(std::vector<int>(p->positions.begin(), p->positions.end()), range(0, 11));
}

TEST(Plan, ParallelVisibility) {
    auto p = buildPlan(spec(2, {3, 3}, 2), {}, nullptr, 1000);
    ASSERT_TRUE(p.ok());
    // token 6 (chunk 1, t=1) sees prefix 0-1 and chunk-1 tokens 5-6 only.
    for (int j = 0; j < 11; ++j) EXPECT_EQ(p->visible(6, j), j <= 1 || j == 5 || j == 6) << j;
    // query token 8 sees everything up to itself.
    for (int j = 0; j < 10; ++j) EXPECT_EQ(p->visible(8, j), j <= 8) << j;
    std::vector<KeyRange> r;
    p->visibleRanges(6, r);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].begin, 0);
    EXPECT_EQ(r[0].end, 2);
    EXPECT_EQ(r[1].begin, 5);
    EXPECT_EQ(r[1].end, 7);
    EncodingOptions full;
    full.mode = EncodingMode::Full;
    auto f = buildPlan(spec(2, {3, 3}, 2), full, nullptr, 1000);
    EXPECT_TRUE(f->visible(6, 3));
    EXPECT_FALSE(f->visible(6, 7));
}

TEST(Plan, BosPolicies) {
    EncodingOptions o;
    o.bos = BosPolicy::Shared;
    auto p = buildPlan(spec(1, {2, 2}, 1), o, nullptr, 1000);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->ids[0], 1);
    EXPECT_EQ(p->prefixLength, 2);
    o.bos = BosPolicy::PerChunk;
    p = buildPlan(spec(1, {2, 2}, 1), o, nullptr, 1000);
    EXPECT_EQ(p->ids[1], 1);
    EXPECT_EQ(p->ids[4], 1);
    EXPECT_EQ(p->positions[1], 1);  // each chunk's BOS sits at position S
    EXPECT_EQ(p->positions[4], 1);
}

TEST(Plan, SinkOffDropsThePrefix) {
    EncodingOptions o;
    o.sinkPrefix = false;
    auto p = buildPlan(spec(3, {2, 2}, 1), o, nullptr, 1000);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->prefixLength, 0);
    EXPECT_EQ(p->tokenCount(), 5);
}

TEST(Plan, HashesSeparateContextFromQuerySideOptions) {
    EncodingOptions a, b;
    b.selective.topK = 2;
    auto pa = buildPlan(spec(2, {3, 3}, 2), a, nullptr, 1000);
    auto pb = buildPlan(spec(2, {3, 3}, 2), b, nullptr, 1000);
    EXPECT_EQ(pa->contextHash(), pb->contextHash());
    EXPECT_NE(pa->hash(), pb->hash());
    EncodingOptions c;
    c.positions = PositionPolicy::Restart;
    auto pc = buildPlan(spec(2, {3, 4}, 2), c, nullptr, 1000);
    EXPECT_NE(pa->contextHash(), pc->contextHash());
}

TEST(Plan, BadInputIsAnError) {
    EXPECT_FALSE(buildPlan(spec(1, {2}, 0), {}, nullptr, 1000).ok());           // empty query
    EXPECT_FALSE(buildPlan(spec(1, {2, 0}, 1), {}, nullptr, 1000).ok());        // empty chunk
    EXPECT_FALSE(buildPlan(spec(1, {2}, 1), {}, nullptr, 12).ok());             // ids outside vocab
    EXPECT_FALSE(buildPlan(spec(1, {200}, 10), {}, nullptr, 1000, 100).ok());   // too many tokens
    ContextSpec text;
    text.chunks = {"hello"};
    text.query = "world";
    auto r = buildPlan(text, {}, nullptr, 1000);  // text without a tokenizer
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("tokenizer"), std::string::npos);
}

TEST(Plan, ContextJson) {
    auto j = Json::parse(R"({"prefix": "p", "chunks": ["a", "b"], "query": "q", "chunk_ids": [[1,2],[3]]})");
    ASSERT_TRUE(j.ok());
    auto c = ContextSpec::fromJson(*j);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->chunks.size(), 2u);
    ASSERT_TRUE(c->chunkIds.has_value());
    EXPECT_EQ((*c->chunkIds)[1][0], 3);
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"({"chunks": "a", "query": "q"})")).ok());
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"({"chunks": ["a"]})")).ok());
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"({"chunk_ids": [[1, -2]], "query": "q"})")).ok());
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"([1, 2])")).ok());
    // Ids beyond every integer type are refused, not converted (the conversion was undefined).
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"({"query_ids": [1e300]})")).ok());
    EXPECT_FALSE(ContextSpec::fromJson(*Json::parse(R"({"prefix_ids": [-1e30], "query": "q"})")).ok());
    auto round = ContextSpec::fromJson(c->toJson());
    ASSERT_TRUE(round.ok());
    EXPECT_EQ(round->toJson().dump(), c->toJson().dump());
}

// ---- the methods (plan/method.h) -----------------------------------------------------------

#include "plan/method.h"

TEST(Method, EachMethodMapsToItsOptions) {
    MethodSettings base;
    base.selectK = 3;
    base.scoreTopN = 7;
    base.positions = PositionPolicy::Restart;
    base.bos = BosPolicy::Shared;
    const auto full = methodOptions(Method::Full, base);
    EXPECT_EQ(full.mode, EncodingMode::Full);
    EXPECT_TRUE(full.sinkPrefix);  // full attention sees the same tokens as the sink method
    EXPECT_EQ(full.positions, PositionPolicy::Sequential);
    EXPECT_FALSE(full.selective.enabled());
    const auto par = methodOptions(Method::Parallel, base);
    EXPECT_EQ(par.mode, EncodingMode::Parallel);
    EXPECT_FALSE(par.sinkPrefix);
    EXPECT_EQ(par.positions, PositionPolicy::Restart);
    EXPECT_FALSE(par.selective.enabled());
    EXPECT_TRUE(methodOptions(Method::Sink, base).sinkPrefix);
    const auto sel = methodOptions(Method::Selective, base);
    EXPECT_FALSE(sel.sinkPrefix);
    EXPECT_EQ(sel.selective.topK, 3);
    EXPECT_EQ(sel.selective.scoreTopN, 7);
    const auto both = methodOptions(Method::Both, base);
    EXPECT_TRUE(both.sinkPrefix);
    EXPECT_EQ(both.selective.topK, 3);
    for (Method m : kMethods) {
        EXPECT_EQ(methodOptions(m, base).bos, BosPolicy::Shared) << toString(m);
        EXPECT_EQ(methodOf(settingsFor(m, base)), m) << toString(m);
        auto parsed = parseMethod(toString(m));
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(*parsed, m);
    }
    EXPECT_FALSE(parseMethod("sequential").ok());
}

TEST(Method, SelectionWithoutKUsesThePapersK) {
    MethodSettings base;
    base.selectK = 0;
    EXPECT_EQ(methodOptions(Method::Selective, base).selective.topK, kDefaultSelectK);
    base.selective = true;
    base.mode = EncodingMode::Full;
    base.sink = false;
    // Settings beyond the five methods: full attention without the prefix, with selection.
    const auto o = base.toOptions();
    EXPECT_FALSE(o.sinkPrefix);
    EXPECT_EQ(o.positions, PositionPolicy::Sequential);
    EXPECT_EQ(methodOf(base), Method::Full);
}

// A context needs at least one chunk, in every mode: an empty list, a missing key or empty
// chunk_ids are errors, never a run over zero chunks.
TEST(Plan, ContextWithoutChunksIsAnError) {
    for (const char* text :
         {R"({"chunks": [], "query": "q"})", R"({"query": "q"})", R"({"chunk_ids": [], "query_ids": [5, 6]})"}) {
        SCOPED_TRACE(text);
        auto j = Json::parse(text);
        ASSERT_TRUE(j.ok());
        auto c = ContextSpec::fromJson(*j, "ctx.json");
        ASSERT_TRUE(c.ok()) << c.error().describe();
        c->query.clear();
        c->queryIds = std::vector<std::int32_t>{5, 6};
        for (EncodingMode mode : {EncodingMode::Parallel, EncodingMode::Full}) {
            EncodingOptions o;
            o.mode = mode;
            auto p = buildPlan(*c, o, nullptr, 100);
            ASSERT_FALSE(p.ok());
            EXPECT_EQ(p.error().kind, ErrorKind::InvalidInput);
            EXPECT_NE(p.error().message.find("the context has no chunks"), std::string::npos) << p.error().message;
        }
    }
}

// Token ids must be integers: 1.0 is refused.
TEST(Plan, TokenIdsMustBeIntegers) {
    auto j = Json::parse(R"({"chunk_ids": [[1.0, 5]], "query_ids": [5]})");
    ASSERT_TRUE(j.ok());
    auto c = ContextSpec::fromJson(*j, "ctx.json");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().file, "ctx.json");
    EXPECT_NE(c.error().message.find("'chunk_ids' must hold non-negative integer token ids"), std::string::npos);
}

// Every rotary position must lie below the model's context length; parallel encoding reaches
// less far than the same tokens in full mode.
TEST(Plan, PositionsBeyondTheContextLengthAreAnError) {
    PlanModel m;
    m.vocabSize = 1000;
    m.contextLength = 16;
    EncodingOptions full;
    full.mode = EncodingMode::Full;
    auto f = buildPlan(spec(2, {6, 6}, 3), full, m);  // positions 0..16
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("reaches position 16, beyond the model's context length of 16"), std::string::npos)
        << f.error().message;
    auto p = buildPlan(spec(2, {6, 6}, 3), EncodingOptions{}, m);  // positions 0..10
    EXPECT_TRUE(p.ok()) << p.error().describe();
}

namespace {

// A tokenizer that counts what it is given: one token per byte.
class CountingTokenizer final : public Tokenizer {
public:
    mutable std::size_t bytesSeen = 0;
    std::string kind() const override { return "counting"; }
    int vocabSize() const override { return 256; }
    Result<std::vector<std::int32_t>> encode(std::string_view text) const override {
        bytesSeen += text.size();
        if (text == "boom") return makeError(ErrorKind::Format, "this vocabulary cannot encode 'boom'");
        return std::vector<std::int32_t>(text.begin(), text.end());
    }
    std::string decode(const std::vector<std::int32_t>&) const override { return {}; }
    std::string piece(std::int32_t) const override { return "x"; }
    std::string tokenText(std::int32_t) const override { return "x"; }
    int bosId() const override { return 1; }
    int eosId() const override { return 2; }
};

}  // namespace

// A part whose bytes surely make more tokens than the context length is refused before it is
// tokenised; once the token limit is passed, later parts are not tokenised at all.
TEST(Plan, LongTextIsRefusedBeforeTokenising) {
    CountingTokenizer tok;
    PlanModel m;
    m.tokenizer = &tok;
    m.vocabSize = 256;
    m.contextLength = 100;
    m.maxPartBytes = 400;
    m.maxTokens = 150;
    ContextSpec huge;
    huge.chunks = {"a", std::string(50u << 20, 'x')};
    huge.query = "q";
    auto r = buildPlan(huge, {}, m);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("the chunk text has 52428800 bytes"), std::string::npos) << r.error().message;
    EXPECT_EQ(tok.bytesSeen, 1u);  // only the first chunk was tokenised
    tok.bytesSeen = 0;
    ContextSpec many;
    many.chunks = {std::string(90, 'a'), std::string(90, 'b'), std::string(90, 'c')};
    many.query = "q";
    auto t = buildPlan(many, {}, m);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("more than 150 tokens"), std::string::npos) << t.error().message;
    EXPECT_EQ(tok.bytesSeen, 180u);  // stopped at the second chunk
}
// A tokenizer's error, or a BOS it lacks, names the model (the tokenizer's file), not the context.
TEST(Plan, TokenizerErrorsNameTheModel) {
    CountingTokenizer tok;
    PlanModel m;
    m.tokenizer = &tok;
    m.tokenizerFile = "model.gguf";
    m.vocabSize = 256;
    m.bosId = -1;
    m.noBosReason = "the model's BOS id 600 is outside the vocabulary of size 256";
    ContextSpec c;
    c.chunks = {"boom"};
    c.query = "q";
    auto r = buildPlan(c, {}, m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().describe(), "model.gguf: this vocabulary cannot encode 'boom'");
    EncodingOptions bos;
    bos.bos = BosPolicy::Shared;
    c.chunks = {"fine"};
    auto b = buildPlan(c, bos, m);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().describe(),
              "model.gguf: a BOS policy was requested but the model's BOS id 600 is outside "
              "the vocabulary of size 256");
}
