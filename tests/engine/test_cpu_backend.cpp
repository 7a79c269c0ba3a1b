// The CPU backend's online statistics against a naive dense implementation (explicit N×N mask
// and probabilities, −Σ p ln p) on small random models, for every encoding mode and model family
// flag; plus attention tiles, query-only reruns and cancellation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "common/random_model.h"

using namespace attnscope;

namespace {

ModelConfig llamaConfig() {
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
    return c;
}

struct Case {
    const char* name;
    EncodingOptions options;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    EncodingOptions o;
    o.mode = EncodingMode::Full;
    out.push_back({"full", o});
    o = {};
    o.sinkPrefix = false;
    out.push_back({"parallel", o});
    o = {};
    out.push_back({"parallel+sink", o});
    o.positions = PositionPolicy::Restart;
    out.push_back({"parallel+sink restart", o});
    o = {};
    o.positions = PositionPolicy::Sequential;
    out.push_back({"parallel sequential positions", o});
    o = {};
    o.selective.topK = 2;
    out.push_back({"sink+selective K=2", o});
    o.selective.scoreTopN = 0;
    out.push_back({"selective mean score", o});
    o = {};
    o.sinkPrefix = false;
    o.selective.topK = 1;
    o.selective.aggregation = SelectAggregation::HeadsQueries;
    out.push_back({"selective heads-queries K=1", o});
    o = {};
    o.bos = BosPolicy::PerChunk;
    o.selective.topK = 3;
    out.push_back({"per-chunk BOS + selective K=3", o});
    o = {};
    o.bos = BosPolicy::Shared;
    out.push_back({"shared BOS", o});
    return out;
}

void compare(const LoadedModel& model, const ContextSpec& spec, const EncodingOptions& opt, const char* label) {
    SCOPED_TRACE(label);
    auto plan = buildPlan(spec, opt, nullptr, model.config.vocabSize);
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    auto backend = makeCpuBackend(2);
    ASSERT_TRUE(backend->loadWeights(std::shared_ptr<const LoadedModel>(&model, [](const LoadedModel*) {})).ok());
    RunRequest req;
    req.plan = &*plan;
    auto out = backend->run(req, {}, nullptr);
    ASSERT_TRUE(out.ok()) << out.error().describe();
    const auto& r = out->stats;
    auto ref = test::naiveForward(model, *plan);
    ASSERT_EQ(r.entropy.size(), ref.entropy.size());
    for (std::size_t i = 0; i < ref.entropy.size(); ++i) ASSERT_NEAR(r.entropy[i], ref.entropy[i], 2e-4) << "entropy index " << i;
    ASSERT_EQ(r.selected, ref.selected);
    for (std::size_t i = 0; i < ref.chunkMass.size(); ++i) ASSERT_NEAR(r.chunkMass[i], ref.chunkMass[i], 1e-4) << "mass " << i;
    for (int q = 0; q < r.queries(); ++q) {
        if (std::isnan(ref.nllNext[q])) EXPECT_TRUE(std::isnan(r.nllNext[q]));
        else EXPECT_NEAR(r.nllNext[q], ref.nllNext[q], 2e-3);
        EXPECT_EQ(r.argmaxNext[q], ref.argmaxNext[q]);
    }
    // Masses of every query row sum to one.
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h)
            for (int q = 0; q < r.queries(); ++q) {
                std::size_t hq = (static_cast<std::size_t>(l) * r.heads + h) * r.queries() + q;
                double s = r.prefixMass[hq] + r.queryMass[hq];
                for (int c = 0; c < r.chunks; ++c) s += r.chunkMassAt(l, h, q, c);
                ASSERT_NEAR(s, 1.0, 1e-4);
            }
    // A full-resolution tile reproduces the dense probabilities; a pooled one their block means.
    AttentionTileRequest tr;
    tr.layer = r.layers - 1;
    tr.head = 1;
    tr.rowBegin = 0;
    tr.rowEnd = plan->tokenCount();
    tr.colBegin = 0;
    tr.colEnd = plan->tokenCount();
    auto tile = backend->attentionTile(*out->kept, tr, {});
    ASSERT_TRUE(tile.ok()) << tile.error().describe();
    const int N = plan->tokenCount();
    const auto& dense = ref.probs[static_cast<std::size_t>(tr.layer) * r.heads + tr.head];
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) ASSERT_NEAR(tile->at(i, j), dense[static_cast<std::size_t>(i) * N + j], 1e-5);
    tr.head = -1;
    tr.outRows = 5;
    tr.outCols = 7;
    auto pooled = backend->attentionTile(*out->kept, tr, {});
    ASSERT_TRUE(pooled.ok());
    ASSERT_EQ(pooled->rows, 5);
    ASSERT_EQ(pooled->cols, 7);
    for (int br = 0; br < 5; ++br)
        for (int bc = 0; bc < 7; ++bc) {
            double s = 0;
            int cells = 0;
            for (int i = pooled->rowEdges[br]; i < pooled->rowEdges[br + 1]; ++i)
                for (int j = pooled->colEdges[bc]; j < pooled->colEdges[bc + 1]; ++j, ++cells)
                    for (int h = 0; h < r.heads; ++h)
                        s += ref.probs[static_cast<std::size_t>(tr.layer) * r.heads + h][static_cast<std::size_t>(i) * N + j] / r.heads;
            ASSERT_NEAR(pooled->at(br, bc), s / cells, 1e-5);
        }
}

}  // namespace

TEST(CpuBackend, LlamaAllModesMatchNaive) {
    auto model = test::makeRandomModel(llamaConfig(), 7);
    auto spec = test::randomContext(11, 3, {9, 6, 11, 4}, 7, model->config.vocabSize);
    for (const auto& c : cases()) compare(*model, spec, c.options, c.name);
}

TEST(CpuBackend, RotateHalfAndQkvBiasMatchNaive) {
    ModelConfig c = llamaConfig();
    c.arch = Architecture::Qwen2;
    c.ropeLayout = RopeLayout::RotateHalf;
    c.qkvBias = true;
    c.ropeTheta = 1e6f;
    auto model = test::makeRandomModel(c, 3);
    auto spec = test::randomContext(5, 2, {7, 7, 7}, 5, c.vocabSize);
    for (const auto& k : cases()) compare(*model, spec, k.options, k.name);
}

TEST(CpuBackend, GemmaFlagsMatchNaive) {
    ModelConfig c = llamaConfig();
    c.arch = Architecture::Gemma3;
    c.ropeLayout = RopeLayout::RotateHalf;
    c.headDim = 16;
    c.ropeDim = 16;
    c.normAddOne = c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
    c.embedScale = std::sqrt(32.0f);
    c.queryScale = 0.25f;
    c.nLayers = 3;
    c.slidingWindow = 6;
    c.layerIsLocal = {true, true, false};
    c.ropeThetaLocal = 10000.0f;
    c.ropeTheta = 1e6f;
    c.tiedOutput = true;
    auto model = test::makeRandomModel(c, 9);
    auto spec = test::randomContext(8, 2, {8, 5, 9}, 6, c.vocabSize);
    for (const auto& k : cases()) compare(*model, spec, k.options, k.name);
}

TEST(CpuBackend, CancelledRunReturnsCancelled) {
    auto model = test::makeRandomModel(llamaConfig(), 1);
    auto spec = test::randomContext(2, 0, {20, 20}, 4, model->config.vocabSize);
    auto plan = buildPlan(spec, {}, nullptr, model->config.vocabSize);
    ASSERT_TRUE(plan.ok());
    auto backend = makeCpuBackend(1);
    ASSERT_TRUE(backend->loadWeights(model).ok());
    std::stop_source src;
    src.request_stop();
    RunRequest req;
    req.plan = &*plan;
    auto out = backend->run(req, src.get_token(), nullptr);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().kind, ErrorKind::Cancelled);
}

TEST(CpuBackend, OutOfVocabularyIdIsAnError) {
    auto model = test::makeRandomModel(llamaConfig(), 1);
    ContextSpec s;
    s.chunkIds = std::vector<std::vector<std::int32_t>>{{1, 2, 999}};
    s.queryIds = std::vector<std::int32_t>{3};
    auto plan = buildPlan(s, {}, nullptr, model->config.vocabSize);
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.error().message.find("outside the vocabulary"), std::string::npos);
}

// The non-finite guard: a NaN in the weights ends the run with an Error{NonFinite} naming the
// first layer where it shows (a NaN in layer 1's Q projection: layer 1's entropy), or the
// logits when it is in the output projection; never a "nan" result.
TEST(CpuBackend, NonFiniteNumbersAreAnErrorNamingTheLayer) {
    auto spec = test::randomContext(3, 2, {6, 5}, 4, 64);
    auto plan = buildPlan(spec, {}, nullptr, 64);
    ASSERT_TRUE(plan.ok());
    auto poisoned = [](const TensorView& t) { const_cast<float*>(reinterpret_cast<const float*>(t.data))[5] = NAN; };
    auto run = [&](const std::shared_ptr<LoadedModel>& model) {
        model->path = "poisoned.gguf";
        auto backend = makeCpuBackend(1);
        EXPECT_TRUE(backend->loadWeights(model).ok());
        RunRequest req;
        req.plan = &*plan;
        return backend->run(req, {}, nullptr);
    };
    auto model = test::makeRandomModel(llamaConfig(), 4);
    poisoned(model->weights.layers[1].wq);
    auto a = run(model);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().kind, ErrorKind::NonFinite);
    EXPECT_EQ(a.error().file, "poisoned.gguf");
    EXPECT_EQ(a.error().message.rfind("layer 1 of 2: the attention entropy is NaN at head ", 0), 0u)
        << a.error().message;

    auto out = test::makeRandomModel(llamaConfig(), 4);
    poisoned(out->weights.output);
    auto b = run(out);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().kind, ErrorKind::NonFinite);
    EXPECT_NE(b.error().message.find("the logits after the last layer (1) give an NLL of NaN at query token 0"),
              std::string::npos)
        << b.error().message;
}
