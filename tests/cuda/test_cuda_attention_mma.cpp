// The tensor-core attention kernel (engine/backend/cuda/attention_mma.h): its fragment layout
// against a plain 16×8×16 product, its outputs against the FP32 kernel's CPU twin
// (kernels_reference.h) over head sizes, GQA, masks, windows and selection, and the backend
// with attention=mma against attention=fp32. Built twice: on the GPU (cuda.attention_mma, skipped
// without a device) and on the CPU emulator (cuda.attention_mma_emulated), where the MMA runs as
// the emulated warp exchange with the same fragment code.
//
// Tolerances. Both sides read the same Q, K, V, already rounded to the storage type. For bf16 and
// f16 storage the MMA inputs are those values exactly; products are exact and accumulate in
// float32 (tensor cores may truncate rather than round), so scores, entropy and lse differ from
// the double twin by a few float32 ulps of scores below ~10: bound 1e-4 (measured on the
// emulator: 1e-6). The output rounds each probability to the MMA type before it weights V
// (2^-9 relative for bf16, 2^-11 for f16: |Δout| <= 2^-9 · Σp|v| <= 2e-3 for |v| <= 1) and is
// stored in the storage type (one more rounding): bounds 6e-3 + 8e-3 relative for bf16
// (measured 3.9e-3), 1.5e-3 + 2e-3 relative for f16 (measured 4.9e-4). F32 storage goes through
// bf16: every score moves by up to ~2^-8 · |q||k|·scale, so entropy, lse and output get 2e-2
// (measured 3.6e-3).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "attention_test_cases.h"
#include "backend/backend_registry.h"
#include "backend/cuda/attention_mma.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/kernels_reference.h"
#include "backend/cuda/plan_view.h"
#include "common/random_model.h"
#include "core/dtype.h"
#include "cuda_test_support.h"
#include "kernel_test_data.h"
#include "plan/encoding_plan.h"

using namespace attnscope;
using namespace attnscope::cuda;
using namespace attnscope::cuda::test;

namespace {

std::vector<float> roundedTo(ElemType t, const std::vector<float>& v) { return fromBytes(t, toBytes(t, v)); }

// ---- the fragment layout ------------------------------------------------------------------------

void checkFragmentLayout(ElemType type, std::uint32_t seed) {
    SCOPED_TRACE(elemName(type));
    const ElemType mmaType = type == ElemType::F16 ? ElemType::F16 : ElemType::BF16;
    const auto a = roundedTo(mmaType, randomFloats(16 * 16, seed, 2.0f));
    const auto b = roundedTo(mmaType, randomFloats(16 * 8, seed + 1, 2.0f));
    const auto c = randomFloats(16 * 8, seed + 2, 1.0f);
    std::vector<float> want(16 * 8);
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
            double acc = c[static_cast<std::size_t>(i * 8 + j)];
            for (int k = 0; k < 16; ++k)
                acc += static_cast<double>(a[static_cast<std::size_t>(i * 16 + k)]) *
                       b[static_cast<std::size_t>(k * 8 + j)];
            want[static_cast<std::size_t>(i * 8 + j)] = static_cast<float>(acc);
        }
    DeviceBytes da(a), db(b), dc(c), dd(want.size() * sizeof(float));
    ATTN_CUDA_OK(
        launchMmaFragmentCheck(type, da.get<float>(), db.get<float>(), dc.get<float>(), dd.get<float>(), nullptr));
    ATTN_CUDA_OK(cudaDeviceSynchronize());
    // Exact products, float32 sums of 17 terms of size <= 4: a few 1e-6.
    EXPECT_TRUE(allClose(dd.download<float>(), want, 1e-5, 1e-6, "D = A·B + C"));
}

// ---- attention against the CPU twin ---------------------------------------------------------------

// The tensor-core kernel's default case: bf16 storage, head size 64, its own seeds.
AttentionCase mmaCase() {
    AttentionCase c;
    c.type = ElemType::BF16;
    c.hd = 64;
    c.seed = 30;
    return c;
}

AttentionTolerances boundsFor(ElemType t) {
    if (t == ElemType::F32) return {2e-2, 0, 2e-2, 0, 2e-2, 2e-2};
    if (t == ElemType::F16) return {1e-4, 0, 1e-4, 0, 1.5e-3, 2e-3};
    return {1e-4, 0, 1e-4, 0, 6e-3, 8e-3};
}

void comparePass(const AttentionCase& c, AttentionPass& p, const std::string& what) {
    compareAttentionPass(c, p, launchAttentionForwardMma, boundsFor(c.type), what);
}

void runMmaCase(const AttentionCase& c) {
    SCOPED_TRACE(c.name);
    auto viewR = makePlanView(planOf(c));
    ASSERT_TRUE(viewR.ok()) << viewR.error().describe();
    AttentionRun run(c, *viewR);
    runAttentionPasses(c, *viewR, run, launchAttentionForwardMma, boundsFor(c.type));
}

}  // namespace

TEST(CudaAttentionMma, FragmentLayoutIsAPlainMatrixProduct) {
    ATTN_REQUIRE_GPU();
    checkFragmentLayout(ElemType::BF16, 3);
    checkFragmentLayout(ElemType::F16, 7);
}

TEST(CudaAttentionMma, HeadSizesAndGqa) {
    ATTN_REQUIRE_GPU();
    for (int hd : {64, 128, 16, 80}) {
        AttentionCase c = mmaCase();
        c.name = "parallel, GQA 4/2, hd " + std::to_string(hd);
        c.hd = hd;
        runMmaCase(c);
    }
    AttentionCase g = mmaCase();
    g.name = "full, GQA 8/2, hd 64, 101 rows";
    g.heads = 8;
    g.parallel = false;
    g.chunks = {40, 49};
    g.queries = 9;
    runMmaCase(g);
}

TEST(CudaAttentionMma, HeadDim256) {
    ATTN_REQUIRE_GPU();
    runMmaCase(headDim256Case(mmaCase()));
}

TEST(CudaAttentionMma, SelectionSplitRowsAndStorageTypes) {
    ATTN_REQUIRE_GPU();
    for (const AttentionCase& c : selectionSplitRowsCases(mmaCase())) runMmaCase(c);
}

TEST(CudaAttentionMma, QueryOnlyPassNoPrefix) {
    ATTN_REQUIRE_GPU();
    runMmaCase(queryOnlyNoPrefixCase(mmaCase()));
}

// Windows shorter and longer than a key tile: rows start at their first visible tile, and rows
// near the start see few keys (row 0 sees one).
TEST(CudaAttentionMma, SlidingWindowsAndFewKeys) {
    ATTN_REQUIRE_GPU();
    for (int window : {3, 24, 70}) {
        AttentionCase c = windowCase(mmaCase(), "parallel, window " + std::to_string(window), window, {90, 10, 75}, 18);
        c.amp = 3.0f;
        runMmaCase(c);
        runMmaCase(byPosition(c, "parallel, window " + std::to_string(window) + " by position"));
        AttentionCase f = inFullMode(c, "full, window " + std::to_string(window), window);
        f.select = false;
        runMmaCase(f);
    }
}

TEST(CudaAttentionMma, ThreeTokens) {
    ATTN_REQUIRE_GPU();
    AttentionCase c = mmaCase();
    c.name = "full, 3 tokens";
    c.parallel = false;
    c.prefix = 1;
    c.chunks = {};
    c.queries = 2;
    runMmaCase(c);
}

TEST(CudaAttentionMma, ManyChunksCrossTiles) {
    ATTN_REQUIRE_GPU();
    runMmaCase(manyChunksCase(mmaCase()));
}

// A row that sees no key (here forced by hand: no plan produces one) writes NaN to its
// output, entropy and lse, not what the reused buffers held from the previous layer; the
// other rows still match the twin.
TEST(CudaAttentionMma, RowsThatSeeNoKeyWriteNaN) {
    ATTN_REQUIRE_GPU();
    PlanView v = *makePlanView(makePlan(0, {40, 40}, 6, true));
    const int N = v.tokens, H = 4, Hkv = 2, hd = 16, emptyRows[] = {50, v.queryBegin + 2};
    for (int i : emptyRows)
        v.rowKeys[2 * static_cast<std::size_t>(i)] = 0, v.rowKeys[2 * static_cast<std::size_t>(i) + 1] = i + 1;
    const AttentionCase c{
        .name = "no key", .type = ElemType::BF16, .heads = H, .kvHeads = Hkv, .hd = hd, .amp = 1.0f, .seed = 80};
    AttentionRun run(c, v);
    AttentionPass& p = run.all;
    const std::vector<float> stale(static_cast<std::size_t>(H) * N, 7.0f);  // "the previous layer"
    p.ent = DeviceBytes(stale);
    p.lse = DeviceBytes(stale);
    p.dev.entropy = p.ent.get<float>();
    p.dev.lse = p.lse.get<float>();
    comparePass(c, p, "rows without keys");
    const auto ent = p.ent.download<float>(), lse = p.lse.download<float>();
    const auto out = fromBytes(c.type, p.out.download<std::uint8_t>());
    for (int h = 0; h < H; ++h)
        for (int i : emptyRows) {
            const std::size_t hi = static_cast<std::size_t>(h) * N + i;
            EXPECT_TRUE(std::isnan(ent[hi]) && std::isnan(lse[hi])) << "head " << h << " row " << i;
            EXPECT_TRUE(std::isnan(out[(static_cast<std::size_t>(i) * H + h) * hd])) << "head " << h << " row " << i;
        }
}

TEST(CudaAttentionMma, HeadSizesNotMultipleOf16AreRefused) {
    EXPECT_FALSE(attentionMmaSupports(8));
    EXPECT_FALSE(attentionMmaSupports(40));
    EXPECT_FALSE(attentionMmaSupports(272));
    EXPECT_TRUE(attentionMmaSupports(64));
    EXPECT_TRUE(attentionMmaSupports(256));
    AttentionForwardArgs a;
    a.g = AttentionGeometry{4, 1, 1, 8, 1.0f, 0};
    a.rowEnd = 4;
    EXPECT_EQ(launchAttentionForwardMma(a, nullptr), cudaErrorInvalidValue);
    (void)cudaGetLastError();
}

#ifndef ATTNSCOPE_CUDA_EMULATION
namespace {

// Bits of bf16 values in [-amp, amp) from a cheap generator (tens of millions of them).
std::vector<std::uint16_t> randomBf16(std::size_t n, std::uint32_t seed, float amp) {
    std::vector<std::uint16_t> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1664525u + 1013904223u;
        b = f32ToBf16(amp * (static_cast<float>(x >> 8) / 8388608.0f - 1.0f));
    }
    return v;
}

template <typename Launch>
double secondsPerCall(Launch&& launch) {
    EXPECT_EQ(launch(), cudaSuccess);  // warm-up
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 3; ++r) EXPECT_EQ(launch(), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 3;
}

}  // namespace

// One layer of Llama-3.1-8B's shape (32 heads, 8 KV heads, head size 128), full causal, 8192
// tokens, bf16: both kernels timed (FLOP = 4·hd·H·Σ visible keys), their entropies compared
// (same bf16 inputs: float32 rounding only, bound 1e-3), and the tensor-core kernel must be the
// faster one.
TEST(CudaAttentionMma, SpeedAgainstFp32AtLlama8BShape) {
    ATTN_REQUIRE_GPU();
    const int N = 8192, H = 32, Hkv = 8, hd = 128;
    std::vector<int> rowKeys(2 * static_cast<std::size_t>(N)), keyChunk(static_cast<std::size_t>(N), -1);
    for (int i = 0; i < N; ++i)
        rowKeys[2 * static_cast<std::size_t>(i)] = rowKeys[2 * static_cast<std::size_t>(i) + 1] = i + 1;
    DeviceBytes dRowKeys(rowKeys), dKeyChunk(keyChunk);
    DeviceBytes dq(randomBf16(static_cast<std::size_t>(N) * H * hd, 1, 2.0f));
    DeviceBytes dk(randomBf16(static_cast<std::size_t>(N) * Hkv * hd, 2, 2.0f));
    DeviceBytes dv(randomBf16(static_cast<std::size_t>(N) * Hkv * hd, 3, 1.0f));
    DeviceBytes out(static_cast<std::size_t>(N) * H * hd * 2), ent(static_cast<std::size_t>(H) * N * 4),
        lse(static_cast<std::size_t>(H) * N * 4), ent2(ent.size()), lse2(lse.size());
    AttentionForwardArgs a;
    a.type = ElemType::BF16;
    a.g = AttentionGeometry{N, H, Hkv, hd, 1.0f / std::sqrt(static_cast<float>(hd)), 0};
    a.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, N, 0};
    a.q = TokenRows{dq.get(), dq.get(), N, H * hd};
    a.k = TokenRows{dk.get(), dk.get(), N, Hkv * hd};
    a.v = TokenRows{dv.get(), dv.get(), N, Hkv * hd};
    a.rowEnd = N;
    a.out = out.get();
    a.entropy = ent.get<float>();
    a.lse = lse.get<float>();
    AttentionForwardArgs m = a;
    m.entropy = ent2.get<float>();
    m.lse = lse2.get<float>();
    const double fp32 = secondsPerCall([&] { return launchAttentionForward(a, nullptr); });
    const double mma = secondsPerCall([&] { return launchAttentionForwardMma(m, nullptr); });
    const double flop = 4.0 * hd * H * (static_cast<double>(N) * (N + 1) / 2);
    std::cout << "[ speed    ] " << N << " tokens, 32/8 heads, hd 128, causal: fp32 kernel " << fp32 * 1e3 << " ms ("
              << flop / fp32 * 1e-12 << " TFLOP/s), mma kernel " << mma * 1e3 << " ms (" << flop / mma * 1e-12
              << " TFLOP/s)\n";
    EXPECT_TRUE(allClose(ent2.download<float>(), ent.download<float>(), 1e-3, 0, "entropy, mma vs fp32"));
    EXPECT_TRUE(allClose(lse2.download<float>(), lse.download<float>(), 1e-3, 0, "lse, mma vs fp32"));
    EXPECT_LT(mma, fp32);
}
#endif

// ---- the backend switch ---------------------------------------------------------------------------

namespace {

Result<std::unique_ptr<Backend>> makeCuda(const std::string& options) {
#ifdef ATTNSCOPE_CUDA_EMULATION
    auto o = parseCudaBackendOptions(options, 0, 2);
    if (!o) return o.takeError();
    return makeCudaBackend(*o);
#else
    BackendOptions bo;
    bo.pluginOptions["cuda"] = options;
    return createBackend("cuda", 2, {}, bo);
#endif
}

std::string backendSkipReason() {
#ifdef ATTNSCOPE_CUDA_EMULATION
    return {};
#else
    return backendUnavailableReason("cuda");
#endif
}

ModelConfig modelWithHeadDim(int hd) {
    ModelConfig c;
    c.nHeads = 4;
    c.nKvHeads = 2;
    c.headDim = hd;
    c.dim = c.nHeads * hd;
    c.nLayers = 2;
    c.ffnDim = 96;
    c.vocabSize = 96;
    c.ropeDim = hd;
    c.normEps = 1e-5f;
    return c;
}

EncodingPlan parallelPlan(int vocab) {
    const ContextSpec spec = attnscope::test::randomContext(11, 5, {30, 41, 22}, 12, vocab);
    EncodingOptions o;
    o.selective.topK = 2;
    auto p = buildPlan(spec, o, nullptr, vocab);
    EXPECT_TRUE(p.ok()) << p.error().describe();
    return p.ok() ? std::move(*p) : EncodingPlan{};
}

AnalysisResult runWith(const std::string& options, const std::shared_ptr<const LoadedModel>& model,
                       const EncodingPlan& plan, std::string& name) {
    auto b = makeCuda(options);
    if (!b) {
        ADD_FAILURE() << b.error().describe();
        return {};
    }
    if (auto w = (*b)->loadWeights(model); !w) {
        ADD_FAILURE() << w.error().describe();
        return {};
    }
    RunRequest r;
    r.plan = &plan;
    auto out = (*b)->run(r, {}, nullptr);
    if (!out) {
        ADD_FAILURE() << out.error().describe();
        return {};
    }
    name = (*b)->name();
    return out->stats;
}

double worstDifference(const std::vector<float>& a, const std::vector<float>& b) {
    double worst = a.size() == b.size() ? 0 : INFINITY;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i])) continue;
        const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
    }
    return worst;
}

}  // namespace

// The option parser lives in the plugin; the emulated build links it directly.
#ifdef ATTNSCOPE_CUDA_EMULATION
TEST(CudaAttentionMma, OptionsAndEnvironment) {
    auto o = parseCudaBackendOptions("attention=mma", 0, 1);
    ASSERT_TRUE(o.ok()) << o.error().describe();
    EXPECT_EQ(o->attention, "mma");
    EXPECT_EQ(parseCudaBackendOptions("", 0, 1)->attention, "fp32");
    EXPECT_EQ(parseCudaBackendOptions("attention=MMA", 0, 1)->attention, "mma");
    auto bad = parseCudaBackendOptions("attention=tensor", 0, 1);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().describe().find("fp32 or mma"), std::string::npos) << bad.error().describe();
    auto unknown = parseCudaBackendOptions("kernel=mma", 0, 1);
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().describe().find("known: dtype, rowblock, keep, attention"), std::string::npos)
        << unknown.error().describe();
    ::setenv("ATTNSCOPE_CUDA_ATTENTION", "mma", 1);
    auto env = parseCudaBackendOptions("", 0, 1);
    auto explicitWins = parseCudaBackendOptions("attention=fp32", 0, 1);
    ::unsetenv("ATTNSCOPE_CUDA_ATTENTION");
    ASSERT_TRUE(env.ok() && explicitWins.ok());
    EXPECT_EQ(env->attention, "mma");
    EXPECT_EQ(explicitWins->attention, "fp32");
}
#endif

// Layer `l` of a [layer][...] array.
std::vector<float> layerSlice(const std::vector<float>& v, int layers, int l) {
    const std::size_t per = v.size() / static_cast<std::size_t>(layers);
    return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(per * l),
                              v.begin() + static_cast<std::ptrdiff_t>(per * (l + 1)));
}

// A random model with head size 64 (selective attention on): attention=mma against attention=fp32.
// In layer 0 both kernels read the same Q/K/V, so entropy and chunk mass differ by float32
// summation order only (measured ~1e-6; bound 1e-4). From layer 1 on the inputs differ: the mma
// kernel rounds probabilities to the MMA type before P·V (2^-9 relative in bf16, 2^-11 in f16),
// and the random model (weights of scale 1, sharp attention) amplifies that: measured 0.05 nats
// worst in bf16 and 0.009 in f16 (the ratio of the two roundings); bounds 0.15 and 0.03.
TEST(CudaAttentionMma, BackendMmaMatchesFp32OnHeadDim64) {
    ATTN_CUDA_SKIP_UNLESS(backendSkipReason());
    auto model = attnscope::test::makeRandomModel(modelWithHeadDim(64), 9, 1.0f);
    const EncodingPlan plan = parallelPlan(model->config.vocabSize);
    for (const std::string dtype : {"bf16", "f16"}) {
        SCOPED_TRACE(dtype);
        std::string fpName, mmaName;
        const AnalysisResult fp = runWith("attention=fp32,dtype=" + dtype, model, plan, fpName);
        const AnalysisResult mma = runWith("attention=mma,dtype=" + dtype, model, plan, mmaName);
        EXPECT_EQ(fpName.find("attention"), std::string::npos) << "the default name is unchanged: " << fpName;
        EXPECT_NE(mmaName.find("attention mma"), std::string::npos) << mmaName;
        EXPECT_EQ(mma.backend, mmaName);
        ASSERT_EQ(fp.entropy.size(), mma.entropy.size());
        ASSERT_GE(fp.layers, 2);
        const double layer0 =
            worstDifference(layerSlice(mma.entropy, fp.layers, 0), layerSlice(fp.entropy, fp.layers, 0));
        const double mass0 =
            worstDifference(layerSlice(mma.chunkMass, fp.layers, 0), layerSlice(fp.chunkMass, fp.layers, 0));
        const double all = worstDifference(mma.entropy, fp.entropy);
        std::cout << "[ mma      ] " << dtype << ", head dim 64: worst entropy difference " << layer0
                  << " nats in layer 0 (chunk mass " << mass0 << "), " << all << " over all layers\n";
        EXPECT_LE(layer0, 1e-4);
        EXPECT_LE(mass0, 1e-4);
        EXPECT_LE(all, dtype == "bf16" ? 0.15 : 0.03);
    }
}

// Head size 8 (like stories260K): attention=mma falls back to the FP32 kernel, says so in the
// backend's name, and gives the FP32 kernel's numbers exactly.
TEST(CudaAttentionMma, BackendFallsBackForHeadDim8) {
    ATTN_CUDA_SKIP_UNLESS(backendSkipReason());
    auto model = attnscope::test::makeRandomModel(modelWithHeadDim(8), 4, 1.0f);
    const EncodingPlan plan = parallelPlan(model->config.vocabSize);
    std::string fpName, mmaName;
    const AnalysisResult fp = runWith("attention=fp32", model, plan, fpName);
    const AnalysisResult mma = runWith("attention=mma", model, plan, mmaName);
    EXPECT_NE(mmaName.find("attention fp32: mma needs a head size that is a multiple of 16"), std::string::npos)
        << mmaName;
    EXPECT_EQ(mma.entropy, fp.entropy);
    EXPECT_EQ(mma.chunkMass, fp.chunkMass);
}
