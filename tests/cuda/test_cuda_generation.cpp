// Generation on the CUDA backend against the CPU backend (the reference), F32 parity mode:
// the same greedy tokens, and per generated token the same entropy, chunk mass, selection and
// log-probabilities. Built twice like test_cuda_backend.cpp: cuda.generation through the real
// plugin (skipped without a GPU), cuda.generation_emulated on the CPU emulator.
//
// Tolerances are those of test_cuda_backend.cpp's parity mode (2e-4 for entropy and masses,
// 5e-4 for log-probabilities). The random models have weights six times the usual scale, so
// that their logits and chunk scores are far from ties and every choice must agree exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend_registry.h"
#include "backend/cpu/cpu_backend.h"
#include "common/random_model.h"
#include "generation/generation.h"
#include "plan/method.h"
#include "require_gpu.h"

#ifdef ATTNSCOPE_CUDA_EMULATION
#include "backend/cuda/cuda_backend.h"
#endif

using namespace attnscope;

namespace {

std::string cudaSkipReason() {
#ifdef ATTNSCOPE_CUDA_EMULATION
    return {};
#else
    const std::string why = backendUnavailableReason("cuda");
    return why.empty() ? why : "CUDA backend unavailable: " + why;
#endif
}

#define REQUIRE_CUDA() ATTN_CUDA_SKIP_UNLESS(cudaSkipReason())

std::unique_ptr<Backend> cudaBackend(const std::string& options, const std::shared_ptr<const LoadedModel>& model) {
#ifdef ATTNSCOPE_CUDA_EMULATION
    auto o = cuda::parseCudaBackendOptions(options, 0, 2);
    if (!o) return nullptr;
    auto b = cuda::makeCudaBackend(*o);
#else
    BackendOptions bo;
    bo.pluginOptions["cuda"] = options;
    auto b = createBackend("cuda", 2, {}, bo);
#endif
    if (!b) {
        ADD_FAILURE() << b.error().describe();
        return nullptr;
    }
    if (auto w = (*b)->loadWeights(model); !w) {
        ADD_FAILURE() << w.error().describe();
        return nullptr;
    }
    return std::move(*b);
}

ModelConfig gemmaLike() {
    ModelConfig c;
    c.dim = 64;
    c.nLayers = 3;
    c.nHeads = 4;
    c.nKvHeads = 2;
    c.headDim = c.ropeDim = 16;
    c.ffnDim = 96;
    c.vocabSize = 96;
    c.normEps = 1e-5f;
    c.arch = Architecture::Gemma3;
    c.ropeLayout = RopeLayout::RotateHalf;
    c.normAddOne = c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
    c.embedScale = 8.0f;
    c.queryScale = 0.25f;
    c.slidingWindow = 12;
    c.layerIsLocal = {true, false, true};
    c.ropeThetaLocal = 10000.0f;
    c.ropeTheta = 1e6f;
    c.tiedOutput = true;
    return c;
}

std::vector<EncodingOptions> methods() {
    std::vector<EncodingOptions> out;
    for (Method m : kMethods) out.push_back(methodOptions(m, {}));
    MethodSettings s;
    s.aggregation = SelectAggregation::HeadsQueries;
    out.push_back(methodOptions(Method::Both, s));
    return out;
}

void expectSameGeneration(const GenerationResult& cu, const GenerationResult& cpu, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_EQ(cu.ids(), cpu.ids());
    EXPECT_EQ(cu.stop, cpu.stop);
    for (std::size_t t = 0; t < cu.tokens.size(); ++t) {
        const GeneratedToken &a = cu.tokens[t], &b = cpu.tokens[t];
        EXPECT_NEAR(a.logProb, b.logProb, 5e-4) << "token " << t;
        ASSERT_EQ(a.entropy.size(), b.entropy.size());
        for (std::size_t i = 0; i < a.entropy.size(); ++i) ASSERT_NEAR(a.entropy[i], b.entropy[i], 2e-4) << t;
        for (std::size_t i = 0; i < a.chunkMass.size(); ++i) ASSERT_NEAR(a.chunkMass[i], b.chunkMass[i], 2e-4) << t;
        for (std::size_t i = 0; i < a.prefixMass.size(); ++i) {
            ASSERT_NEAR(a.prefixMass[i], b.prefixMass[i], 2e-4) << t;
            ASSERT_NEAR(a.queryMass[i], b.queryMass[i], 2e-4) << t;
        }
        ASSERT_EQ(a.selected, b.selected) << "token " << t;
        ASSERT_EQ(a.top.size(), b.top.size());
        for (std::size_t k = 0; k < a.top.size(); ++k) EXPECT_NEAR(a.top[k].logProb, b.top[k].logProb, 5e-4);
    }
}

}  // namespace

TEST(CudaGeneration, MatchesCpuInParityMode) {
    REQUIRE_CUDA();
    auto model = test::makeRandomModel(gemmaLike(), 17, 6.0f);
    auto cpu = makeCpuBackend(2);
    ASSERT_TRUE(cpu->loadWeights(model).ok());
    const ContextSpec spec = test::randomContext(5, 3, {14, 9, 20, 11}, 5, model->config.vocabSize);
    GenerationOptions g;
    g.maxNewTokens = 10;
    // Kept state on the GPU, and in host memory (copied back by the decoder and per call).
    for (const std::string options : {"dtype=f32", "dtype=f32,keep=host,rowblock=3"}) {
        auto cu = cudaBackend(options, model);
        ASSERT_TRUE(cu);
        for (const auto& o : methods()) {
            auto plan = buildPlan(spec, o, nullptr, model->config.vocabSize);
            ASSERT_TRUE(plan.ok());
            auto a = generate(*cu, nullptr, *plan, g);
            auto b = generate(*cpu, nullptr, *plan, g);
            ASSERT_TRUE(a.ok()) << a.error().describe();
            ASSERT_TRUE(b.ok()) << b.error().describe();
            expectSameGeneration(*a, *b, options + " / " + describe(o));
        }
    }
}

TEST(CudaGeneration, DecoderRefusesAnotherPlanAndStopsAtItsCapacity) {
    REQUIRE_CUDA();
    auto model = test::makeRandomModel(gemmaLike(), 3);
    auto cu = cudaBackend("dtype=f32", model);
    ASSERT_TRUE(cu);
    const ContextSpec spec = test::randomContext(2, 0, {8, 8}, 3, model->config.vocabSize);
    auto plan = buildPlan(spec, {}, nullptr, model->config.vocabSize);
    auto other =
        buildPlan(test::randomContext(4, 0, {8, 8}, 3, model->config.vocabSize), {}, nullptr, model->config.vocabSize);
    ASSERT_TRUE(plan.ok() && other.ok());
    RunRequest r;
    r.plan = &*plan;
    auto run = cu->run(r, {}, nullptr);
    ASSERT_TRUE(run.ok());
    EXPECT_FALSE(cu->startDecoding(*other, run->kept, 4).ok());
    auto decoder = cu->startDecoding(*plan, run->kept, 1);
    ASSERT_TRUE(decoder.ok()) << decoder.error().describe();
    EXPECT_TRUE((*decoder)->append(5, {}).ok());
    EXPECT_EQ((*decoder)->plan().tokenCount(), plan->tokenCount() + 1);
    EXPECT_FALSE((*decoder)->append(6, {}).ok());
}
