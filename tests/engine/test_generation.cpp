// Generation (generation/generation.h) on the CPU backend: incremental decoding against a full
// recomputation of the prompt plus the generated tokens, selective attention per call, sampling
// with a seed, the token choice rules, and stop strings on a real tokenizer (stories260K).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "common/random_model.h"
#include "core/json.h"
#include "generation/answer_match.h"
#include "generation/generation.h"
#include "generation/token_choice.h"
#include "plan/method.h"
#include "session/session.h"

using namespace attnscope;

namespace {

ModelConfig smallConfig(bool gemma) {
    ModelConfig c;
    c.dim = 32;
    c.nLayers = 2;
    c.nHeads = 4;
    c.nKvHeads = 2;
    c.headDim = 8;
    c.ffnDim = 48;
    c.vocabSize = 64;
    c.ropeDim = 8;
    c.normEps = 1e-5f;
    if (gemma) {
        c.arch = Architecture::Gemma3;
        c.ropeLayout = RopeLayout::RotateHalf;
        c.headDim = c.ropeDim = 16;
        c.normAddOne = c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
        c.embedScale = std::sqrt(32.0f);
        c.queryScale = 0.25f;
        c.nLayers = 3;
        c.slidingWindow = 6;
        c.layerIsLocal = {true, true, false};
        c.ropeThetaLocal = 10000.0f;
        c.ropeTheta = 1e6f;
        c.tiedOutput = true;
    }
    return c;
}

struct Fixture {
    std::shared_ptr<LoadedModel> model;
    std::unique_ptr<Backend> backend;
    ContextSpec spec;
};

Fixture fixture(bool gemma) {
    Fixture f;
    // Larger weights than the default make the logits peaked: greedy choices are far from ties.
    f.model = test::makeRandomModel(smallConfig(gemma), gemma ? 21 : 5, 6.0f);
    f.backend = makeCpuBackend(2);
    EXPECT_TRUE(f.backend->loadWeights(f.model).ok());
    f.spec = test::randomContext(13, 2, {7, 5, 9, 6}, 4, f.model->config.vocabSize);
    return f;
}

EncodingPlan planOf(const Fixture& f, const EncodingOptions& o) {
    auto plan = buildPlan(f.spec, o, nullptr, f.model->config.vocabSize);
    EXPECT_TRUE(plan.ok()) << plan.error().describe();
    return *plan;
}

std::vector<EncodingOptions> methods() {
    std::vector<EncodingOptions> out;
    for (Method m : kMethods) out.push_back(methodOptions(m, {}));
    EncodingOptions o = methodOptions(Method::Selective, {});
    o.selective.scoreTopN = 0;
    out.push_back(o);
    return out;
}

// The generated tokens' statistics equal those of one run over the prompt plus the generated
// tokens: entropy, chunk mass, selection, and the greedy choice (the arg-max one row earlier).
void expectMatchesRecomputation(const Fixture& f, const EncodingOptions& o) {
    SCOPED_TRACE(describe(o));
    const EncodingPlan plan = planOf(f, o);
    GenerationOptions g;
    g.maxNewTokens = 6;
    auto gen = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(gen.ok()) << gen.error().describe();
    ASSERT_EQ(gen->tokens.size(), 6u);
    EncodingPlan whole = plan;
    for (const auto& t : gen->tokens) appendQueryToken(whole, t.id);
    RunRequest req;
    req.plan = &whole;
    auto full = f.backend->run(req, {}, nullptr);
    ASSERT_TRUE(full.ok()) << full.error().describe();
    const AnalysisResult& r = full->stats;
    const int Qp = plan.queryCount();
    for (std::size_t t = 0; t < gen->tokens.size(); ++t) {
        const GeneratedToken& tok = gen->tokens[t];
        const int q = Qp + static_cast<int>(t), row = whole.queryBegin + q;
        EXPECT_EQ(tok.id, r.argmaxNext[static_cast<std::size_t>(q - 1)]) << "token " << t;
        EXPECT_NEAR(tok.logProb, -r.nllNext[static_cast<std::size_t>(q - 1)], 1e-4) << "token " << t;
        for (int l = 0; l < r.layers; ++l)
            for (int h = 0; h < r.heads; ++h) {
                const std::size_t lh = static_cast<std::size_t>(l) * r.heads + h;
                ASSERT_NEAR(tok.entropy[lh], r.entropyAt(l, h, row), 1e-4) << "token " << t << " layer " << l;
                for (int c = 0; c < r.chunks; ++c) {
                    ASSERT_NEAR(tok.chunkMass[lh * r.chunks + c], r.chunkMassAt(l, h, q, c), 1e-4);
                    if (o.selective.aggregation == SelectAggregation::None)
                        ASSERT_EQ(tok.selected[lh * r.chunks + c] != 0, r.selectedAt(l, h, q, c));
                }
            }
    }
    // The prompt call is the plan's own analysis.
    req.plan = &plan;
    auto alone = f.backend->run(req, {}, nullptr);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(gen->prompt.entropy, alone->stats.entropy);
    EXPECT_EQ(gen->prompt.selected, alone->stats.selected);
}

}  // namespace

TEST(Generation, IncrementalEqualsRecomputationLlama) {
    const Fixture f = fixture(false);
    for (const auto& o : methods()) expectMatchesRecomputation(f, o);
}

TEST(Generation, IncrementalEqualsRecomputationGemmaSlidingWindow) {
    const Fixture f = fixture(true);
    for (const auto& o : methods()) expectMatchesRecomputation(f, o);
}

TEST(Generation, PositionsContinueTheQuery) {
    const Fixture f = fixture(false);
    for (Method m : {Method::Full, Method::Sink}) {
        EncodingPlan p = planOf(f, methodOptions(m, {}));
        const int S = p.prefixLength, M = 9, Q = p.queryCount();
        appendQueryToken(p, 5);
        EXPECT_EQ(p.positions.back(), m == Method::Full ? p.tokenCount() - 1 : S + M + Q);
        EXPECT_EQ(p.segment.back(), SegmentKind::Query);
        EXPECT_TRUE(p.validate(64).ok());
    }
}

// heads-queries: one selection per forward call, shared by every head of a layer; each
// generated token makes its own.
TEST(Generation, SelectivePerCallSharedByHeads) {
    const Fixture f = fixture(false);
    MethodSettings s;
    s.selectK = 1;
    s.aggregation = SelectAggregation::HeadsQueries;
    const EncodingPlan plan = planOf(f, methodOptions(Method::Selective, s));
    GenerationOptions g;
    g.maxNewTokens = 8;
    auto gen = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(gen.ok()) << gen.error().describe();
    bool differsFromPrompt = false;
    for (const auto& t : gen->tokens)
        for (int l = 0; l < t.layers; ++l) {
            const auto kept = t.selectedChunks(l);
            ASSERT_EQ(kept.size(), 1u);
            for (int h = 0; h < t.heads; ++h)
                for (int c = 0; c < t.chunks; ++c)
                    ASSERT_EQ(t.selected[(static_cast<std::size_t>(l) * t.heads + h) * t.chunks + c] != 0,
                              c == kept[0]);
            differsFromPrompt |= !gen->prompt.selectedAt(l, 0, 0, kept[0]);
        }
    EXPECT_TRUE(differsFromPrompt) << "every generated token kept the prompt's chunk: selection is not per call";
}

TEST(Generation, SeededSamplingIsReproducible) {
    const Fixture f = fixture(false);
    const EncodingPlan plan = planOf(f, methodOptions(Method::Sink, {}));
    GenerationOptions g;
    g.maxNewTokens = 12;
    g.sampling.temperature = 3.0;
    g.sampling.seed = 42;
    auto a = generate(*f.backend, nullptr, plan, g);
    auto b = generate(*f.backend, nullptr, plan, g);
    g.sampling.seed = 43;
    auto c = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->ids(), b->ids());
    EXPECT_NE(a->ids(), c->ids());
    g.sampling.topK = 1;  // one candidate: the greedy choice
    auto k1 = generate(*f.backend, nullptr, plan, g);
    g.sampling = {};
    auto greedy = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(k1.ok() && greedy.ok());
    EXPECT_EQ(k1->ids(), greedy->ids());
}

TEST(Generation, StopIdsEndWithoutTheToken) {
    const Fixture f = fixture(false);
    const EncodingPlan plan = planOf(f, methodOptions(Method::Full, {}));
    GenerationOptions g;
    g.maxNewTokens = 6;
    auto free = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(free.ok());
    g.stopIds = {free->tokens[3].id};
    auto stopped = generate(*f.backend, nullptr, plan, g);
    ASSERT_TRUE(stopped.ok());
    EXPECT_EQ(stopped->stop, StopReason::EndOfSequence);
    EXPECT_EQ(stopped->stopId, free->tokens[3].id);
    int firstStop = 0;
    while (free->tokens[static_cast<std::size_t>(firstStop)].id != g.stopIds[0]) ++firstStop;
    EXPECT_EQ(static_cast<int>(stopped->tokens.size()), firstStop);
}

TEST(Generation, TokenChoiceRules) {
    const std::vector<float> lp = {std::log(0.1f), std::log(0.5f), std::log(0.25f), std::log(0.15f)};
    const auto top = topLogProbs(lp, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].id, 1);
    EXPECT_EQ(top[1].id, 2);
    EXPECT_EQ(top[2].id, 3);
    std::mt19937_64 rng(1);
    SamplingOptions s;
    EXPECT_EQ(chooseToken(lp, s, rng), 1);
    s.temperature = 1;
    s.topP = 0.4;  // the most probable token alone reaches 0.4
    for (int i = 0; i < 20; ++i) EXPECT_EQ(chooseToken(lp, s, rng), 1);
    s.topP = 1;
    s.topK = 2;
    int counts[4] = {};
    for (int i = 0; i < 4000; ++i) ++counts[chooseToken(lp, s, rng)];
    EXPECT_EQ(counts[0] + counts[3], 0);
    EXPECT_NEAR(counts[1] / 4000.0, 0.5 / 0.75, 0.03);
    GenerationOptions bad;
    bad.sampling.topP = 0;
    EXPECT_FALSE(validateGenerationOptions(bad).ok());
    bad = {};
    bad.maxNewTokens = 0;
    EXPECT_FALSE(validateGenerationOptions(bad).ok());
}

TEST(Generation, CancelledBeforeDecoding) {
    const Fixture f = fixture(false);
    std::stop_source stop;
    stop.request_stop();
    auto gen = generate(*f.backend, nullptr, planOf(f, {}), {}, stop.get_token());
    ASSERT_FALSE(gen.ok());
    EXPECT_EQ(gen.error().kind, ErrorKind::Cancelled);
}

// A stop string made of the end of one generated token and the start of the next stops the
// run at the second token, the text cut before it.
TEST(Generation, StopStringAcrossTwoTokens) {
    const char* models = std::getenv("ATTNSCOPE_MODELS");
    const std::filesystem::path path = std::filesystem::path(models ? models : "") / "stories260K.gguf";
    if (!models || !std::filesystem::exists(path)) GTEST_SKIP() << "stories260K.gguf not found";
    SessionOptions so;
    so.device = "cpu";
    so.threads = 2;
    auto session = Session::open(path.string(), so);
    ASSERT_TRUE(session.ok()) << session.error().describe();
    ContextSpec spec;
    spec.chunks = {"Once upon a time, there was a little girl named Lily.", "She liked to play in the park."};
    spec.query = "One day, Lily";
    auto plan = (*session)->plan(spec, methodOptions(Method::Sink, {}));
    ASSERT_TRUE(plan.ok());
    GenerationOptions g;
    g.maxNewTokens = 12;
    auto free = (*session)->generate(*plan, g);
    ASSERT_TRUE(free.ok()) << free.error().describe();
    ASSERT_GE(free->tokens.size(), 6u);
    // Tokens 3 and 4: the last character of the first's text and the first of the second's.
    const Tokenizer& tok = *(*session)->tokenizer();
    const std::vector<std::int32_t> ids = free->ids();
    const std::string upTo3 = tok.decode({ids.begin(), ids.begin() + 4});
    const std::string upTo4 = tok.decode({ids.begin(), ids.begin() + 5});
    ASSERT_GT(upTo4.size(), upTo3.size());
    const std::string stopText = upTo3.substr(upTo3.size() - 1) + upTo4.substr(upTo3.size(), 1);
    ASSERT_EQ(free->text.find(stopText), upTo3.size() - 1) << "pick a context whose text has no earlier match";
    g.stopStrings = {"never appears", stopText};
    auto stopped = (*session)->generate(*plan, g);
    ASSERT_TRUE(stopped.ok());
    EXPECT_EQ(stopped->stop, StopReason::StopString);
    EXPECT_EQ(stopped->stopString, stopText);
    EXPECT_EQ(stopped->tokens.size(), 5u);
    EXPECT_EQ(stopped->text, upTo3.substr(0, upTo3.size() - 1));
    EXPECT_FALSE(stopped->tokens[0].piece.empty());
    EXPECT_EQ(stopped->tokens[0].top.size(), 5u);
    EXPECT_EQ(stopped->tokens[0].top[0].id, stopped->tokens[0].id);  // greedy
}

// ---------------------------------------------------------------------------------------------
// Gemma 3 270M against transformers (tests/reference/make_reference.py wrote the fixture):
// greedy generate() with full attention for three prompts, and greedy decoding under the
// paper's parallel mask for a QA context. Both sides run the same dequantised Q4_K_M weights in
// float32; the generated ids must agree wherever the reference's top two log-probabilities are
// more than twice the log-probability tolerance apart (a nearer tie may go either way; the
// comparison stops there), the chosen tokens' log-probabilities within 2e-3 and, under the
// parallel mask, each generated token's per-layer entropy within 2e-3 nats.

namespace {

std::string gemmaGguf() {
    if (const char* e = std::getenv("ATTNSCOPE_GEMMA_GGUF")) return std::filesystem::exists(e) ? e : "";
    const char* data = std::getenv("ATTNSCOPE_TEST_DATA");
    if (!data) return {};
    const auto p = std::filesystem::path(data) / ".." / ".." / ".venv" / "models" / "gemma-3-270m-q4_k_m.gguf";
    return std::filesystem::is_regular_file(p) ? p.string() : "";
}

std::vector<std::int32_t> idsOf(const Json& a) {
    std::vector<std::int32_t> v;
    for (const auto& x : a.asArray()) v.push_back(static_cast<std::int32_t>(x.asInt()));
    return v;
}

ContextSpec specOfCase(const Json& c) {
    ContextSpec s;
    s.prefixIds = idsOf(*c.find("prefix_ids"));
    std::vector<std::vector<std::int32_t>> chunks;
    for (const auto& ch : c.find("chunk_ids")->asArray()) chunks.push_back(idsOf(ch));
    s.chunkIds = chunks;
    s.queryIds = idsOf(*c.find("query_ids"));
    return s;
}

}  // namespace

TEST(Generation, Gemma270MMatchesTransformers) {
    constexpr double kLogProbTol = 2e-3;
    const std::string path = gemmaGguf();
    if (path.empty()) GTEST_SKIP() << "Gemma 3 270M GGUF not found (set ATTNSCOPE_GEMMA_GGUF)";
    auto doc =
        Json::parseFile(std::string(std::getenv("ATTNSCOPE_TEST_DATA")) + "/reference/gemma3-270m-generation.json");
    ASSERT_TRUE(doc.ok()) << doc.error().describe();
    ASSERT_EQ(static_cast<std::int64_t>(std::filesystem::file_size(path)), doc->find("gguf_bytes")->asInt());
    SessionOptions so;
    so.device = "cpu";
    so.threads = 2;
    auto session = Session::open(path, so);
    ASSERT_TRUE(session.ok()) << session.error().describe();
    int compared = 0;
    for (const auto& c : doc->find("cases")->asArray()) {
        SCOPED_TRACE(c.find("name")->asString());
        const Json& o = *c.find("options");
        MethodSettings s;
        s.mode = o.find("mode")->asString() == "full" ? EncodingMode::Full : EncodingMode::Parallel;
        auto plan = (*session)->plan(specOfCase(c), s.toOptions());
        ASSERT_TRUE(plan.ok()) << plan.error().describe();
        GenerationOptions g;
        g.maxNewTokens = static_cast<int>(doc->find("new_tokens")->asInt());
        g.stopIds = {-1};  // transformers ran without an end-of-sequence token
        auto gen = (*session)->generate(*plan, g);
        ASSERT_TRUE(gen.ok()) << gen.error().describe();
        const auto want = idsOf(*c.find("generated_ids"));
        const auto& chosen = c.find("chosen_log_probs")->asArray();
        const auto& margin = c.find("top_two_margin")->asArray();
        const Json* entropy = c.find("token_layer_entropy");
        for (std::size_t t = 0; t < want.size() && t < gen->tokens.size(); ++t) {
            const GeneratedToken& tok = gen->tokens[t];
            if (tok.id != want[t]) {
                EXPECT_LT(margin[t].asNumber(), 2 * kLogProbTol)
                    << "token " << t << ": " << tok.id << " vs " << want[t];
                break;
            }
            ++compared;
            EXPECT_NEAR(tok.logProb, chosen[t].asNumber(), kLogProbTol) << "token " << t;
            if (entropy)
                for (int l = 0; l < tok.layers; ++l)
                    EXPECT_NEAR(tok.layerEntropy(l), entropy->asArray()[t].asArray()[l].asNumber(), 2e-3)
                        << "token " << t << " layer " << l;
        }
    }
    EXPECT_GE(compared, 48) << "too few tokens compared: the fixture's ties came early";
}

TEST(Generation, SubEmNormalisesAsThePaper) {
    EXPECT_EQ(normalizeAnswer("  The  Architect, Mara-Quill!  "), "architect maraquill");
    EXPECT_TRUE(subEmMatch("It was designed by the architect Mara Quill.", {"nobody", "Mara Quill"}));
    EXPECT_TRUE(subEmMatch("An apple a day", {"the APPLE"}));
    EXPECT_FALSE(subEmMatch("Jack", {"Max"}));
    EXPECT_FALSE(subEmMatch("anything", {}));
    EXPECT_FALSE(subEmMatch("anything", {"the", "..."}));  // normalises to nothing
    auto one = ContextSpec::fromJson(*Json::parse(R"({"chunks": ["a"], "query": "q", "answer": "Max"})"));
    auto many = ContextSpec::fromJson(*Json::parse(R"({"chunks": ["a"], "query": "q", "answer": ["A", "B"]})"));
    auto bad = ContextSpec::fromJson(*Json::parse(R"({"chunks": ["a"], "query": "q", "answer": [1]})"));
    ASSERT_TRUE(one.ok() && many.ok());
    EXPECT_EQ(one->answers, std::vector<std::string>{"Max"});
    EXPECT_EQ(many->answers, (std::vector<std::string>{"A", "B"}));
    EXPECT_FALSE(bad.ok());
    auto back = ContextSpec::fromJson(many->toJson());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->answers, many->answers);
}
