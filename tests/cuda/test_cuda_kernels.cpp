// Every CUDA kernel against its plain CPU twin (engine/backend/cuda/kernels_reference.h) at
// several sizes, storage types and layouts. Built twice: against the GPU (cuda.kernels, skipped
// without a device) and against the CPU emulator (cuda.kernels_emulated, runs everywhere).
//
// Tolerances: the twins accumulate in double, the kernels in float. Float32 results agree to
// ~1e-6 relative per operation; sums over a few hundred terms and exp/log stay within the
// absolute bounds below. Where a kernel writes a 16-bit type, one rounding step of that type
// (2^-8 relative for bf16, 2^-11 for f16) is allowed on top.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attention_test_cases.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/kernels_reference.h"
#include "backend/cuda/plan_view.h"
#include "core/dtype.h"
#include "cuda_test_support.h"
#include "kernel_test_data.h"
#include "model/rope.h"

using namespace attnscope;
using namespace attnscope::cuda;
using namespace attnscope::cuda::test;

namespace {

double typeRel(ElemType t) { return t == ElemType::F32 ? 1e-5 : t == ElemType::F16 ? 1e-3 : 8e-3; }

const ElemType kTypes[] = {ElemType::F32, ElemType::F16, ElemType::BF16};

// Points the four outputs of s at chunk scores, chunk masses, prefix masses and query masses.
void writeStatsTo(QueryStatsArgs& s, float* score, float* chunkMass, float* prefixMass, float* queryMass) {
    s.score = score;
    s.chunkMass = chunkMass;
    s.prefixMass = prefixMass;
    s.queryMass = queryMass;
}

// One tile by the kernel (inputs on the device in `dev`) and by its twin (the same inputs on the
// host in `host`), each into a zeroed output.
void compareTile(TileArgs dev, TileArgs host, const std::string& what) {
    const std::size_t cells = static_cast<std::size_t>(dev.outRows) * dev.outCols;
    DeviceBytes out(cells * 4);
    out.zero();
    dev.out = out.get<float>();
    ATTN_CUDA_OK(launchAttentionTile(dev, 4, nullptr));
    std::vector<float> want(cells, 0.0f);
    host.out = want.data();
    reference::attentionTile(host);
    EXPECT_TRUE(allClose(out.download<float>(), want, 1e-5, 1e-4, what));
}

}  // namespace

TEST(CudaKernels, Embed) {
    ATTN_REQUIRE_GPU();
    for (ElemType t : kTypes)
        for (int dim : {8, 64, 130}) {
            const int vocab = 50, n = 37;
            auto table = toBytes(t, randomFloats(static_cast<std::size_t>(vocab) * dim, 1));
            std::vector<int> ids(n);
            for (int i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = (i * 7 + 3) % vocab;
            DeviceBytes dTable(table), dIds(ids), dX(static_cast<std::size_t>(n) * dim * 4);
            ATTN_CUDA_OK(launchEmbed(t, dTable.get(), dim, dIds.get<int>(), n, 1.5f, dX.get<float>(), nullptr));
            std::vector<float> want(static_cast<std::size_t>(n) * dim);
            reference::embed(t, table.data(), dim, ids.data(), n, 1.5f, want.data());
            EXPECT_TRUE(allClose(dX.download<float>(), want, 0, 0, std::string("embed ") + elemName(t)));
        }
}

TEST(CudaKernels, RmsNorm) {
    ATTN_REQUIRE_GPU();
    struct Case {
        int rows, cols;
    };
    for (Case c : {Case{1, 8}, Case{7, 64}, Case{33, 100}, Case{5, 4096}})
        for (ElemType t : kTypes)
            for (bool addOne : {false, true}) {
                const auto x = randomFloats(static_cast<std::size_t>(c.rows) * c.cols, 2, 3.0f);
                const auto w = randomFloats(static_cast<std::size_t>(c.cols), 3);
                DeviceBytes dX(x), dW(w), dOut(x.size() * elemSize(t));
                ATTN_CUDA_OK(launchRmsNorm(t, dX.get<float>(), c.rows, c.cols, dW.get<float>(), addOne, 1e-5f,
                                           dOut.get(), false, nullptr));
                std::vector<std::uint8_t> want(x.size() * elemSize(t));
                reference::rmsNorm(t, x.data(), c.rows, c.cols, w.data(), addOne, 1e-5f, want.data(), false);
                EXPECT_TRUE(
                    allClose(fromBytes(t, dOut.download<std::uint8_t>()), fromBytes(t, want), 1e-5, typeRel(t) * 2,
                             "rmsnorm " + std::to_string(c.rows) + "x" + std::to_string(c.cols) + " " + elemName(t)));
            }
    // Float output accumulated onto what is there, and in place.
    const int rows = 9, cols = 96;
    const auto x = randomFloats(static_cast<std::size_t>(rows) * cols, 4, 2.0f);
    const auto w = randomFloats(static_cast<std::size_t>(cols), 5);
    const auto base = randomFloats(x.size(), 6);
    DeviceBytes dX(x), dW(w), dAcc(base);
    ATTN_CUDA_OK(launchRmsNorm(ElemType::F32, dX.get<float>(), rows, cols, dW.get<float>(), false, 1e-6f, dAcc.get(),
                               true, nullptr));
    std::vector<float> want = base;
    reference::rmsNorm(ElemType::F32, x.data(), rows, cols, w.data(), false, 1e-6f, want.data(), true);
    EXPECT_TRUE(allClose(dAcc.download<float>(), want, 1e-5, 1e-5, "rmsnorm accumulate"));
    ATTN_CUDA_OK(launchRmsNorm(ElemType::F32, dX.get<float>(), rows, cols, dW.get<float>(), true, 1e-6f, dX.get(),
                               false, nullptr));
    std::vector<float> inPlace(x.size());
    reference::rmsNorm(ElemType::F32, x.data(), rows, cols, w.data(), true, 1e-6f, inPlace.data(), false);
    EXPECT_TRUE(allClose(dX.download<float>(), inPlace, 1e-5, 1e-5, "rmsnorm in place"));
}

TEST(CudaKernels, AddBiasAndConvert) {
    ATTN_REQUIRE_GPU();
    const int rows = 13, cols = 77;
    const auto y = randomFloats(static_cast<std::size_t>(rows) * cols, 7);
    const auto b = randomFloats(static_cast<std::size_t>(cols), 8);
    DeviceBytes dY(y), dB(b);
    ATTN_CUDA_OK(launchAddBias(dY.get<float>(), rows, cols, dB.get<float>(), nullptr));
    std::vector<float> want = y;
    reference::addBias(want.data(), rows, cols, b.data());
    EXPECT_TRUE(allClose(dY.download<float>(), want, 0, 0, "bias"));
    for (ElemType t : kTypes) {
        const auto x = randomFloats(1000, 9, 100.0f);
        DeviceBytes dIn(x), dOut(x.size() * elemSize(t));
        ATTN_CUDA_OK(launchConvert(t, dIn.get<float>(), x.size(), dOut.get(), nullptr));
        std::vector<std::uint8_t> wantBytes(x.size() * elemSize(t));
        reference::convert(t, x.data(), x.size(), wantBytes.data());
        EXPECT_EQ(dOut.download<std::uint8_t>(), wantBytes)
            << "convert " << elemName(t) << " must round to nearest even";
    }
}

TEST(CudaKernels, Rope) {
    ATTN_REQUIRE_GPU();
    struct Case {
        int rows, heads, hd, ropeDim;
    };
    for (Case c : {Case{5, 2, 8, 8}, Case{17, 4, 64, 64}, Case{9, 3, 128, 64}, Case{3, 1, 256, 256}})
        for (bool adjacent : {true, false})
            for (ElemType t : kTypes) {
                const auto x = randomFloats(static_cast<std::size_t>(c.rows) * c.heads * c.hd, 10, 2.0f);
                ModelConfig cfg;
                cfg.ropeDim = c.ropeDim;
                std::vector<std::int32_t> pos(static_cast<std::size_t>(c.rows));
                for (int i = 0; i < c.rows; ++i) pos[static_cast<std::size_t>(i)] = i * 37 + 5;
                cfg.ropeTheta = 10000.0f;
                const std::vector<float> cs = ropeTable(ropeInverseFrequencies(cfg, 0), pos.data(), c.rows);
                DeviceBytes dX(x), dCs(cs), dOut(x.size() * elemSize(t));
                ATTN_CUDA_OK(launchRope(t, dX.get<float>(), c.rows, c.heads, c.hd, c.ropeDim, adjacent,
                                        dCs.get<float>(), dOut.get(), nullptr));
                std::vector<std::uint8_t> want(x.size() * elemSize(t));
                reference::rope(t, x.data(), c.rows, c.heads, c.hd, c.ropeDim, adjacent, cs.data(), want.data());
                EXPECT_TRUE(
                    allClose(fromBytes(t, dOut.download<std::uint8_t>()), fromBytes(t, want), 1e-6, typeRel(t),
                             "rope hd=" + std::to_string(c.hd) + (adjacent ? " adjacent " : " half ") + elemName(t)));
            }
    // ropeDim = 0: values are only converted.
    const auto v = randomFloats(4 * 2 * 16, 11);
    DeviceBytes dV(v), dOut(v.size() * 2);
    ATTN_CUDA_OK(launchRope(ElemType::BF16, dV.get<float>(), 4, 2, 16, 0, true, nullptr, dOut.get(), nullptr));
    EXPECT_EQ(dOut.download<std::uint8_t>(), toBytes(ElemType::BF16, v));
}

TEST(CudaKernels, GatedActivation) {
    ATTN_REQUIRE_GPU();
    for (bool gelu : {false, true})
        for (ElemType t : kTypes)
            for (std::size_t n : {std::size_t{1}, std::size_t{1000}, std::size_t{70001}}) {
                const auto g = randomFloats(n, 12, 8.0f), u = randomFloats(n, 13, 2.0f);
                DeviceBytes dG(g), dU(u), dOut(n * elemSize(t));
                ATTN_CUDA_OK(launchGatedActivation(t, dG.get<float>(), dU.get<float>(), n, gelu, dOut.get(), nullptr));
                std::vector<std::uint8_t> want(n * elemSize(t));
                reference::gatedActivation(t, g.data(), u.data(), n, gelu, want.data());
                EXPECT_TRUE(allClose(fromBytes(t, dOut.download<std::uint8_t>()), fromBytes(t, want), 1e-6,
                                     typeRel(t) * 2, std::string(gelu ? "geglu " : "swiglu ") + elemName(t)));
            }
}

TEST(CudaKernels, DequantQ8_0) {
    ATTN_REQUIRE_GPU();
    for (std::size_t n : {std::size_t{32}, std::size_t{4096}, std::size_t{32 * 1001}}) {
        const auto x = randomFloats(n, 14, 3.0f);
        std::vector<std::uint8_t> blocks(n / 32 * 34);
        quantizeRowQ8_0(x.data(), blocks.data(), n);
        for (ElemType t : kTypes) {
            DeviceBytes dBlocks(blocks), dOut(n * elemSize(t));
            ATTN_CUDA_OK(launchDequantQ8_0(t, dBlocks.get<std::uint8_t>(), n, dOut.get(), nullptr));
            std::vector<std::uint8_t> want(n * elemSize(t));
            reference::dequantQ8_0(t, blocks.data(), n, want.data());
            EXPECT_EQ(dOut.download<std::uint8_t>(), want) << "Q8_0 → " << elemName(t) << ", n=" << n;
        }
    }
}

TEST(CudaKernels, NllArgmax) {
    ATTN_REQUIRE_GPU();
    for (int vocab : {7, 512, 32000}) {
        const int rows = 5;
        auto logits = randomFloats(static_cast<std::size_t>(rows) * vocab, 15, 10.0f);
        // Row 1 has two equal maxima: the first one must win.
        logits[static_cast<std::size_t>(vocab) + 3 % vocab] = 50.0f;
        logits[static_cast<std::size_t>(vocab) + (vocab - 1)] = 50.0f;
        std::vector<int> targets = {0, vocab - 1, vocab / 2, -1, 1 % vocab};
        DeviceBytes dL(logits), dT(targets), dNll(std::vector<float>(rows, -7.0f)), dArg(rows * sizeof(int));
        ATTN_CUDA_OK(
            launchNllArgmax(dL.get<float>(), rows, vocab, dT.get<int>(), dNll.get<float>(), dArg.get<int>(), nullptr));
        std::vector<float> wantNll(rows, -7.0f);
        std::vector<int> wantArg(rows);
        reference::nllArgmax(logits.data(), rows, vocab, targets.data(), wantNll.data(), wantArg.data());
        EXPECT_TRUE(allClose(dNll.download<float>(), wantNll, 2e-5, 1e-5, "nll vocab=" + std::to_string(vocab)));
        EXPECT_EQ(dArg.download<int>(), wantArg) << "argmax vocab=" << vocab;
    }
}

// ---- attention -------------------------------------------------------------------------------

namespace {

// The view's two key ranges per row are exactly the plan's visibility rule.
void checkViewIsThePlansRule(const EncodingPlan& plan, const PlanView& v) {
    for (int i = 0; i < v.tokens; ++i)
        for (int j = 0; j < v.tokens; ++j) {
            const bool mine = j <= i && (j < v.rowKeys[2 * i] || j >= v.rowKeys[2 * i + 1]);
            const bool theirs =
                j <= i && (plan.options.mode != EncodingMode::Parallel || plan.segment[i] != SegmentKind::Chunk ||
                           plan.segment[j] == SegmentKind::Prefix || plan.chunk[j] == plan.chunk[i]);
            ASSERT_EQ(mine, theirs) << "row " << i << " key " << j;
        }
}

AttentionTolerances fp32AttentionTolerances(ElemType t) {
    return {2e-4, 1e-5, 1e-4, 1e-5, 2e-5, t == ElemType::F32 ? 1e-4 : typeRel(t) * 2};
}

// Query statistics from the final lse, against the twin's, in every score mode.
void checkQueryStats(const AttentionCase& c, const PlanView& v, const AttentionRun& run,
                     const std::vector<float>& finalLse) {
    const int H = c.heads, Q = v.queries, P = v.chunks;
    DeviceBytes dChunkBegin(v.chunkBegin);
    if (Q > 0) {
        DeviceBytes dFinalLse(finalLse);
        for (ChunkScore mode : {ChunkScore::TopN, ChunkScore::Mean, ChunkScore::Sum})
            for (int n : {1, 5, 32}) {
                if (mode != ChunkScore::TopN && n != 5) continue;
                const std::size_t hqp = static_cast<std::size_t>(H) * Q * std::max(P, 1),
                                  hq = static_cast<std::size_t>(H) * Q;
                DeviceBytes dScore(hqp * 4), dMass(hqp * 4), dPre(hq * 4), dQry(hq * 4);
                QueryStatsArgs s;
                s.type = c.type;
                s.g = run.all.dev.g;
                s.vis = run.finalVisibility(true);
                s.q = run.q.device;
                s.k = run.k.device;
                s.prefixLength = v.prefixLength;
                s.chunkBegin = dChunkBegin.get<int>();
                s.lse = dFinalLse.get<float>();
                s.scoreMode = mode;
                s.scoreTopN = n;
                writeStatsTo(s, dScore.get<float>(), dMass.get<float>(), dPre.get<float>(), dQry.get<float>());
                ATTN_CUDA_OK(launchQueryStats(s, nullptr));
                std::vector<float> wScore(hqp), wMass(hqp), wPre(hq), wQry(hq);
                QueryStatsArgs hs = s;
                hs.vis = run.finalVisibility(false);
                hs.q = run.q.onHost;
                hs.k = run.k.onHost;
                hs.chunkBegin = v.chunkBegin.data();
                hs.lse = finalLse.data();
                writeStatsTo(hs, wScore.data(), wMass.data(), wPre.data(), wQry.data());
                reference::queryStats(hs);
                const std::string tag = " mode " + std::to_string(static_cast<int>(mode)) + " n=" + std::to_string(n);
                if (P > 0) {
                    EXPECT_TRUE(allClose(dScore.download<float>(), wScore, 2e-5, 1e-4, "chunk score" + tag));
                    EXPECT_TRUE(allClose(dMass.download<float>(), wMass, 2e-5, 1e-4, "chunk mass" + tag));
                }
                EXPECT_TRUE(allClose(dPre.download<float>(), wPre, 2e-5, 1e-4, "prefix mass" + tag));
                EXPECT_TRUE(allClose(dQry.download<float>(), wQry, 2e-5, 1e-4, "query mass" + tag));
                // Masses of a row sum to 1.
                auto mass = dMass.download<float>(), pre = dPre.download<float>(), qry = dQry.download<float>();
                for (std::size_t r = 0; r < hq; ++r) {
                    double total = pre[r] + qry[r];
                    for (int ch = 0; ch < P; ++ch) total += mass[r * P + static_cast<std::size_t>(ch)];
                    if (c.select) EXPECT_LE(total, 1.0 + 1e-4);
                    else EXPECT_NEAR(total, 1.0, 1e-4) << "row " << r;
                }
            }
    }
}

// Tiles from the final lse: a few windows, both poolings, one head and the head mean.
void checkTiles(const AttentionCase& c, const PlanView& v, const AttentionRun& run,
                const std::vector<float>& finalLse) {
    const int N = v.tokens, H = c.heads;
    DeviceBytes dFinalLse(finalLse);
    struct Win {
        int r0, r1, c0, c1, outR, outC;
    };
    for (Win w : {Win{0, N, 0, N, N, N}, Win{0, N, 0, N, 7, 5}, Win{v.queryBegin, N, 0, N, 3, 11},
                  Win{N / 3, N - 2, 2, N / 2, 4, 4}})
        for (int head : {-1, 1 % H})
            for (bool maxPool : {false, true}) {
                TileArgs t;
                t.type = c.type;
                t.g = run.all.dev.g;
                t.vis = run.finalVisibility(true);
                t.q = run.q.device;
                t.k = run.k.device;
                t.lse = dFinalLse.get<float>();
                t.head = head;
                t.rowBegin = w.r0;
                t.rowEnd = w.r1;
                t.colBegin = w.c0;
                t.colEnd = w.c1;
                t.outRows = w.outR;
                t.outCols = w.outC;
                t.maxPool = maxPool;
                TileArgs ht = t;
                ht.vis = run.finalVisibility(false);
                ht.q = run.q.onHost;
                ht.k = run.k.onHost;
                ht.lse = finalLse.data();
                compareTile(t, ht,
                            "tile " + std::to_string(w.outR) + "x" + std::to_string(w.outC) + " head " +
                                std::to_string(head) + (maxPool ? " max" : " mean"));
            }
}

void runAttentionCase(const AttentionCase& c) {
    SCOPED_TRACE(c.name);
    const EncodingPlan plan = planOf(c);
    auto viewR = makePlanView(plan);
    ASSERT_TRUE(viewR.ok()) << viewR.error().describe();
    const PlanView& v = *viewR;
    checkViewIsThePlansRule(plan, v);

    AttentionRun run(c, v);
    runAttentionPasses(c, v, run, launchAttentionForward, fp32AttentionTolerances(c.type));
    const std::vector<float> finalLse = run.finalLse(v);
    checkQueryStats(c, v, run, finalLse);
    if (!c.queryOnly) checkTiles(c, v, run, finalLse);  // a query-only case has no lse of the context rows
}

}  // namespace

TEST(CudaKernels, AttentionParallelGqa) {
    ATTN_REQUIRE_GPU();
    AttentionCase c;
    c.name = "parallel, GQA 4/2, hd 16";
    runAttentionCase(c);
}

TEST(CudaKernels, AttentionFullModeManyHeadSizes) {
    ATTN_REQUIRE_GPU();
    for (int hd : {8, 40, 64, 100, 128}) {
        AttentionCase c;
        c.name = "full, hd " + std::to_string(hd);
        c.parallel = false;
        c.hd = hd;
        c.heads = 2;
        c.kvHeads = 1;
        c.chunks = {17, 30};
        runAttentionCase(c);
    }
}

TEST(CudaKernels, AttentionHeadDim256NeedsLargeSharedMemory) {
    ATTN_REQUIRE_GPU();
    runAttentionCase(headDim256Case(AttentionCase{}));
}

TEST(CudaKernels, AttentionSelectionSplitAndStorageTypes) {
    ATTN_REQUIRE_GPU();
    for (const AttentionCase& c : selectionSplitRowsCases(AttentionCase{})) runAttentionCase(c);
}

TEST(CudaKernels, AttentionQueryOnlyPassAndNoPrefix) {
    ATTN_REQUIRE_GPU();
    runAttentionCase(queryOnlyNoPrefixCase(AttentionCase{}));
}

TEST(CudaKernels, AttentionSlidingWindowAndSharpScores) {
    ATTN_REQUIRE_GPU();
    AttentionCase c = windowCase(AttentionCase{}, "window 24, sharp", 24, {50, 10, 35}, 18);
    c.amp = 4.0f;
    runAttentionCase(c);
    runAttentionCase(byPosition(c, "window 24 by position, sharp"));
    runAttentionCase(inFullMode(c, "full mode, window 7", 7));
    runAttentionCase(byPosition(inFullMode(c, "", 7), "full mode, window 7 by position"));
}

TEST(CudaKernels, AttentionLongRowsManyChunks) {
    ATTN_REQUIRE_GPU();
    AttentionCase c;
    c.hd = 32;
    runAttentionCase(manyChunksCase(c));
}

// The renormalisation floor p / max(Σp, 1e-5): the only kept chunk gets almost no attention.
TEST(CudaKernels, AttentionSelectionFloor) {
    ATTN_REQUIRE_GPU();
    const EncodingPlan plan = makePlan(0, {8, 8}, 1, true);
    auto v = *makePlanView(plan);
    const int N = v.tokens, hd = 8;
    std::vector<float> q(static_cast<std::size_t>(N) * hd, 0.0f), k(q.size(), 0.0f), val(q.size());
    for (std::size_t i = 0; i < val.size(); ++i) val[i] = static_cast<float>(i % 5) - 2.0f;
    const int last = N - 1;
    q[static_cast<std::size_t>(last) * hd] = 10.0f;
    for (int j = 0; j < 8; ++j) k[static_cast<std::size_t>(j) * hd] = 10.0f;   // chunk 0: score 100·scale
    for (int j = 8; j < 16; ++j) k[static_cast<std::size_t>(j) * hd] = -1.0f;  // chunk 1: very low
    k[static_cast<std::size_t>(last) * hd] = -1.0f;                            // the query token itself
    DeviceBytes dq(q), dk(k), dv(val), dRowKeys(v.rowKeys), dKeyChunk(v.keyChunk);
    const std::vector<std::uint8_t> keep = {0, 1};  // keep only chunk 1
    DeviceBytes dKeep(keep);
    const std::vector<float> nanN(static_cast<std::size_t>(N), NAN);
    DeviceBytes dEnt(nanN), dLse(nanN), dOut(static_cast<std::size_t>(N) * hd * 4);
    AttentionForwardArgs a;
    a.g = AttentionGeometry{N, 1, 1, hd, 1.0f / std::sqrt(8.0f), 0};
    a.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, v.queryBegin, 2};
    a.q = TokenRows{dq.get(), dq.get(), N, hd};
    a.k = TokenRows{dk.get(), dk.get(), N, hd};
    a.v = TokenRows{dv.get(), dv.get(), N, hd};
    a.rowBegin = 0;
    a.rowEnd = N;
    a.out = dOut.get();
    a.entropy = dEnt.get<float>();
    a.lse = dLse.get<float>();
    ATTN_CUDA_OK(launchAttentionForward(a, nullptr));
    auto lseBefore = dLse.download<float>();
    DeviceBytes dBefore(lseBefore);
    a.vis.selected = dKeep.get<std::uint8_t>();
    a.lseBefore = dBefore.get<float>();
    a.rowBegin = v.queryBegin;
    ATTN_CUDA_OK(launchAttentionForward(a, nullptr));

    std::vector<float> wantEnt = nanN, wantLse = lseBefore, wantOut(static_cast<std::size_t>(N) * hd);
    AttentionForwardArgs h = a;
    h.vis = VisibilityArgs{v.rowKeys.data(), v.keyChunk.data(), keep.data(), v.queryBegin, 2};
    h.q = TokenRows{q.data(), q.data(), N, hd};
    h.k = TokenRows{k.data(), k.data(), N, hd};
    h.v = TokenRows{val.data(), val.data(), N, hd};
    h.lseBefore = lseBefore.data();
    h.out = wantOut.data();
    h.entropy = wantEnt.data();
    h.lse = wantLse.data();
    reference::attentionForward(h);
    auto ent = dEnt.download<float>();
    EXPECT_NEAR(ent[static_cast<std::size_t>(last)], wantEnt[static_cast<std::size_t>(last)], 1e-4);
    EXPECT_NEAR(dLse.download<float>()[static_cast<std::size_t>(last)], wantLse[static_cast<std::size_t>(last)], 1e-3);
    auto out = dOut.download<float>();
    for (int d = 0; d < hd; ++d)
        EXPECT_NEAR(out[static_cast<std::size_t>(last) * hd + d], wantOut[static_cast<std::size_t>(last) * hd + d],
                    1e-5);
    // With the floor the kept probabilities sum to far less than 1.
    double kept = 0;
    for (int j = 8; j <= last; ++j)
        kept += std::exp(1.0 / std::sqrt(8.0) * 10.0 * k[static_cast<std::size_t>(j) * hd] -
                         wantLse[static_cast<std::size_t>(last)]);
    EXPECT_LT(kept, 0.5);
}

// Wide tiles: more column bins than one block holds (several column groups), bins with many
// rows split over blocks, any lse given as input.
TEST(CudaKernels, AttentionTileManyColumnBins) {
    ATTN_REQUIRE_GPU();
    const EncodingPlan plan = makePlan(5, {1000, 1100}, 40, true);
    auto v = *makePlanView(plan);
    const int N = v.tokens, H = 2, hd = 8;
    auto q = randomFloats(static_cast<std::size_t>(N) * H * hd, 30, 1.0f);
    auto k = randomFloats(static_cast<std::size_t>(N) * hd, 31, 1.0f);
    auto lse = randomFloats(static_cast<std::size_t>(H) * N, 32, 1.0f);
    for (auto& x : lse) x += 6.0f;
    DeviceBytes dq(q), dk(k), dLse(lse), dRowKeys(v.rowKeys), dKeyChunk(v.keyChunk);
    struct Win {
        int r0, r1, outR, outC;
    };
    for (Win w : {Win{0, N, 3, 2145}, Win{v.queryBegin, N, 1, 2100}, Win{1500, 1600, 100, 2049}})
        for (bool maxPool : {false, true}) {
            TileArgs t;
            t.g = AttentionGeometry{N, H, 1, hd, 0.35f, 0};
            t.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, v.queryBegin, v.chunks};
            t.q = TokenRows{dq.get(), dq.get(), N, H * hd};
            t.k = TokenRows{dk.get(), dk.get(), N, hd};
            t.lse = dLse.get<float>();
            t.head = -1;
            t.rowBegin = w.r0;
            t.rowEnd = w.r1;
            t.colBegin = 0;
            t.colEnd = N;
            t.outRows = w.outR;
            t.outCols = w.outC;
            t.maxPool = maxPool;
            TileArgs h = t;
            h.vis = VisibilityArgs{v.rowKeys.data(), v.keyChunk.data(), nullptr, v.queryBegin, v.chunks};
            h.q = TokenRows{q.data(), q.data(), N, H * hd};
            h.k = TokenRows{k.data(), k.data(), N, hd};
            h.lse = lse.data();
            compareTile(t, h,
                        "tile " + std::to_string(w.outR) + "x" + std::to_string(w.outC) + (maxPool ? " max" : " sum"));
        }
}

// ---- query statistics at scale -------------------------------------------------------------------
//
// The statistics kernel stages tiles of 32 keys in shared memory for 32 or 64 (head, query row)
// pairs of one GQA group at a time, so these cases cross tiles, blocks and groups: several tiles
// per chunk, group sizes 1, 4 and 8, query-row counts below, at and past a block's pairs.

namespace {

// The view's window positions for host arguments (null under the physical rule).
const int* windowPositionsOf(const PlanView& v) {
    return v.windowPositions.empty() ? nullptr : v.windowPositions.data();
}

struct StatsCase {
    std::string name;
    ElemType type = ElemType::F32;
    int heads = 4, kvHeads = 1, hd = 16;
    int prefix = 5;
    std::vector<int> chunks = {70, 45, 100};
    int queries = 7;
    bool parallel = true;
    int window = 0;
    WindowRule windowRule = WindowRule::Physical;
    bool select = false;
    bool split = false;
    ChunkScore mode = ChunkScore::TopN;
    int topN = 5;
};

// One case's inputs on the host (rounded to the storage type) and on the device, with the query
// rows' lse from the attention twin (with the selection, when the case selects).
struct StatsInputs {
    PlanView v;
    int qStride = 0, kStride = 0;
    std::vector<std::uint8_t> hq, hk, keep;
    std::vector<float> lse;
    AttentionGeometry g;
};

StatsInputs makeStatsInputs(const StatsCase& c) {
    StatsInputs in;
    in.v = *makePlanView(makePlan(c.prefix, c.chunks, c.queries, c.parallel, c.windowRule));
    const int N = in.v.tokens, H = c.heads, Q = in.v.queries, P = in.v.chunks;
    in.qStride = H * c.hd;
    in.kStride = c.kvHeads * c.hd;
    in.hq = toBytes(c.type, randomFloats(static_cast<std::size_t>(N) * in.qStride, 40, 1.5f));
    in.hk = toBytes(c.type, randomFloats(static_cast<std::size_t>(N) * in.kStride, 41, 1.5f));
    auto hv = toBytes(c.type, randomFloats(static_cast<std::size_t>(N) * in.kStride, 42, 1.0f));
    in.g = AttentionGeometry{N, H, c.kvHeads, c.hd, 1.0f / std::sqrt(static_cast<float>(c.hd)), c.window};
    AttentionForwardArgs a;
    a.type = c.type;
    a.g = in.g;
    a.vis =
        VisibilityArgs{in.v.rowKeys.data(), in.v.keyChunk.data(), nullptr, in.v.queryBegin, P, windowPositionsOf(in.v)};
    a.q = TokenRows{in.hq.data(), in.hq.data(), N, in.qStride};
    a.k = TokenRows{in.hk.data(), in.hk.data(), N, in.kStride};
    a.v = TokenRows{hv.data(), hv.data(), N, in.kStride};
    a.rowBegin = in.v.queryBegin;
    a.rowEnd = N;
    std::vector<std::uint8_t> out(static_cast<std::size_t>(Q) * in.qStride * elemSize(c.type));
    std::vector<float> entropy(static_cast<std::size_t>(H) * N, NAN);
    in.lse.assign(entropy.size(), NAN);
    a.out = out.data();
    a.outRowOffset = in.v.queryBegin;
    a.entropy = entropy.data();
    a.lse = in.lse.data();
    reference::attentionForward(a);
    if (c.select && P > 0) {
        in.keep.resize(static_cast<std::size_t>(H) * Q * P);
        for (std::size_t x = 0; x < in.keep.size(); ++x)
            in.keep[x] = static_cast<std::uint8_t>((x * 2654435761u >> 9) % 3 != 0);
        const std::vector<float> before = in.lse;
        a.vis.selected = in.keep.data();
        a.lseBefore = before.data();
        reference::attentionForward(a);
    }
    return in;
}

struct StatsOutputs {
    std::vector<float> score, mass, prefix, query;
    std::uint64_t barriers = 0;  // block barriers of the kernel (emulator)
};

// Block barriers the emulator has counted so far; 0 on a GPU, which does not count them.
std::uint64_t blockBarriers() {
#if defined(ATTNSCOPE_CUDA_EMULATION)
    return emu::blockBarrierCount();
#else
    return 0;
#endif
}

// The statistics by the kernel (device = true) or by its twin, from the same inputs.
StatsOutputs queryStatsOf(const StatsCase& c, const StatsInputs& in, bool device) {
    const int N = in.v.tokens, Q = in.v.queries, P = in.v.chunks;
    const std::size_t hqp = static_cast<std::size_t>(c.heads) * Q * std::max(P, 1),
                      hq = static_cast<std::size_t>(c.heads) * Q;
    StatsOutputs o{std::vector<float>(hqp, -3.0f), std::vector<float>(hqp, -3.0f), std::vector<float>(hq, -3.0f),
                   std::vector<float>(hq, -3.0f)};
    QueryStatsArgs s;
    s.type = c.type;
    s.g = in.g;
    s.vis = VisibilityArgs{
        in.v.rowKeys.data(),    in.v.keyChunk.data(), in.keep.empty() ? nullptr : in.keep.data(), in.v.queryBegin, P,
        windowPositionsOf(in.v)};
    s.q = TokenRows{in.hq.data(), in.hq.data(), N, in.qStride};
    s.k = TokenRows{in.hk.data(), in.hk.data(), N, in.kStride};
    s.prefixLength = in.v.prefixLength;
    s.chunkBegin = in.v.chunkBegin.data();
    s.lse = in.lse.data();
    s.scoreMode = c.mode;
    s.scoreTopN = c.topN;
    if (!device) {
        writeStatsTo(s, o.score.data(), o.mass.data(), o.prefix.data(), o.query.data());
        reference::queryStats(s);
        return o;
    }
    const int split = c.split ? in.v.queryBegin : N;
    Rows dq(c.type, fromBytes(c.type, in.hq), N, in.qStride, split),
        dk(c.type, fromBytes(c.type, in.hk), N, in.kStride, split);
    DeviceBytes dRowKeys(in.v.rowKeys), dKeyChunk(in.v.keyChunk), dChunkBegin(in.v.chunkBegin), dLse(in.lse),
        dKeep(in.keep.empty() ? std::vector<std::uint8_t>(1) : in.keep), dScore(o.score), dMass(o.mass), dPre(o.prefix),
        dQry(o.query), dWindowPositions(in.v.windowPositions);
    s.vis = VisibilityArgs{dRowKeys.get<int>(),
                           dKeyChunk.get<int>(),
                           in.keep.empty() ? nullptr : dKeep.get<std::uint8_t>(),
                           in.v.queryBegin,
                           P,
                           in.v.windowPositions.empty() ? nullptr : dWindowPositions.get<int>()};
    s.q = dq.device;
    s.k = dk.device;
    s.chunkBegin = dChunkBegin.get<int>();
    s.lse = dLse.get<float>();
    writeStatsTo(s, dScore.get<float>(), dMass.get<float>(), dPre.get<float>(), dQry.get<float>());
    const std::uint64_t before = blockBarriers();
    EXPECT_EQ(launchQueryStats(s, nullptr), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    return StatsOutputs{dScore.download<float>(), dMass.download<float>(), dPre.download<float>(),
                        dQry.download<float>(), blockBarriers() - before};
}

StatsOutputs runStatsCase(const StatsCase& c) {
    SCOPED_TRACE(c.name);
    const StatsInputs in = makeStatsInputs(c);
    const StatsOutputs got = queryStatsOf(c, in, true), want = queryStatsOf(c, in, false);
    const int P = in.v.chunks;
    if (P > 0) {
        EXPECT_TRUE(allClose(got.score, want.score, 2e-5, 1e-4, "chunk score"));
        EXPECT_TRUE(allClose(got.mass, want.mass, 2e-5, 1e-4, "chunk mass"));
    }
    EXPECT_TRUE(allClose(got.prefix, want.prefix, 2e-5, 1e-4, "prefix mass"));
    EXPECT_TRUE(allClose(got.query, want.query, 2e-5, 1e-4, "query mass"));
    // Every row's masses sum to 1 (at most 1 once chunks are dropped).
    for (std::size_t r = 0; r < got.prefix.size(); ++r) {
        double total = got.prefix[r] + got.query[r];
        for (int ch = 0; ch < P; ++ch)
            total += got.mass[r * static_cast<std::size_t>(P) + static_cast<std::size_t>(ch)];
        if (c.select) EXPECT_LE(total, 1.0 + 1e-4) << "row " << r;
        else EXPECT_NEAR(total, 1.0, 1e-4) << "row " << r;
    }
    return got;
}

}  // namespace

TEST(CudaKernels, QueryStatsGqaGroupsAndQueryRowCounts) {
    ATTN_REQUIRE_GPU();
    struct Group {
        int heads, kvHeads;
    };
    for (Group grp : {Group{2, 2}, Group{8, 2}, Group{8, 1}})
        for (int queries : {1, 7, 64, 100, 256}) {
            StatsCase c;
            c.heads = grp.heads;
            c.kvHeads = grp.kvHeads;
            c.queries = queries;
            c.name = "group " + std::to_string(grp.heads / grp.kvHeads) + " of " + std::to_string(grp.heads) +
                     " heads, " + std::to_string(queries) + " query rows";
            runStatsCase(c);
        }
}

TEST(CudaKernels, QueryStatsScoreModesSelectionAndStorageTypes) {
    ATTN_REQUIRE_GPU();
    struct Mode {
        ChunkScore mode;
        int topN;
    };
    for (Mode m :
         {Mode{ChunkScore::TopN, 1}, Mode{ChunkScore::TopN, 32}, Mode{ChunkScore::Mean, 5}, Mode{ChunkScore::Sum, 5}})
        for (ElemType t : kTypes) {
            StatsCase c;
            c.type = t;
            c.mode = m.mode;
            c.topN = m.topN;
            c.heads = 8;
            c.kvHeads = 2;
            c.hd = 24;
            c.chunks = {33, 64, 5, 90, 1};
            c.queries = 19;
            c.select = true;
            c.split = true;
            c.name = std::string(elemName(t)) + " mode " + std::to_string(static_cast<int>(m.mode)) +
                     " n=" + std::to_string(m.topN);
            runStatsCase(c);
        }
    StatsCase full;  // full mode, no prefix: the query segment sees everything before it
    full.name = "full mode, no prefix";
    full.parallel = false;
    full.prefix = 0;
    full.queries = 40;
    runStatsCase(full);
}

// Head dims above 128 take blocks of 4 warps, to stay within the 99 KiB of shared memory a block
// may have on sm_86/sm_89.
TEST(CudaKernels, QueryStatsLargeHeadsFitSharedMemory) {
    ATTN_REQUIRE_GPU();
    for (int hd : {64, 128, 200, 256}) {
        EXPECT_LE(queryStatsSharedBytes(hd), 99u * 1024) << "hd " << hd;
        StatsCase c;
        c.name = "hd " + std::to_string(hd);
        c.hd = hd;
        c.heads = 4;
        c.kvHeads = 1;
        c.chunks = {40, 50};
        c.queries = 20;
        runStatsCase(c);
    }
}

TEST(CudaKernels, SlidingWindowRowsFarBeyondTheWindow) {
    ATTN_REQUIRE_GPU();
    const AttentionCase c = windowCase(AttentionCase{}, "window 24, 1,400 tokens, selective", 24, {500, 470, 400}, 40);
    runAttentionCase(c);
    AttentionCase f = inFullMode(c, "full mode, window 40, GQA 8/1", 40);
    f.heads = 8;
    f.kvHeads = 1;
    f.select = false;
    runAttentionCase(f);
    StatsCase s;
    s.name = "statistics, window 24, 256 query rows";
    s.window = 24;
    s.chunks = {300, 200, 150};
    s.queries = 256;
    s.heads = 8;
    s.kvHeads = 2;
    runStatsCase(s);
    // By position the query rows see a part of every chunk: no first visible tile to start from.
    s.name = "statistics, window 24 by position, 256 query rows";
    s.windowRule = WindowRule::Position;
    runStatsCase(s);
    runAttentionCase(byPosition(c, "window 24 by position, 1,400 tokens, selective"));
}

// A sliding-window layer starts each block at the first key tile its rows can see: rows far
// beyond the window cost what rows just past it cost (block barriers, counted by the emulator;
// walking every tile from key 0 would add one or more per tile).
TEST(CudaKernels, SlidingWindowStartsAtTheFirstVisibleTile) {
    ATTN_REQUIRE_GPU();
    const int window = 16, hd = 8;
    const PlanView v = *makePlanView(makePlan(0, {1990}, 10, false));
    const int N = v.tokens;
    const auto q = randomFloats(static_cast<std::size_t>(N) * hd, 60), k = randomFloats(q.size(), 61),
               val = randomFloats(q.size(), 62);
    DeviceBytes dq(q), dk(k), dv(val), dRowKeys(v.rowKeys), dKeyChunk(v.keyChunk), dOut(q.size() * 4),
        dEnt(std::vector<float>(static_cast<std::size_t>(N), NAN)),
        dLse(std::vector<float>(static_cast<std::size_t>(N), NAN));
    AttentionForwardArgs a;
    a.g = AttentionGeometry{N, 1, 1, hd, 0.3f, window};
    a.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, v.queryBegin, 0};
    a.q = TokenRows{dq.get(), dq.get(), N, hd};
    a.k = TokenRows{dk.get(), dk.get(), N, hd};
    a.v = TokenRows{dv.get(), dv.get(), N, hd};
    a.out = dOut.get();
    a.entropy = dEnt.get<float>();
    a.lse = dLse.get<float>();
    auto barriersOfRows = [&](int begin) {
        a.rowBegin = begin;
        a.rowEnd = begin + 16;
        const std::uint64_t before = blockBarriers();
        EXPECT_EQ(launchAttentionForward(a, nullptr), cudaSuccess);
        return blockBarriers() - before;
    };
    const std::uint64_t near = barriersOfRows(64), far = barriersOfRows(N - 16);
    EXPECT_LE(far, near) << "rows " << N - 16 << ".. walk more key tiles than rows 64..";
    std::vector<float> wantEnt(static_cast<std::size_t>(N), NAN), wantLse = wantEnt, wantOut(q.size());
    AttentionForwardArgs h = a;
    h.vis = VisibilityArgs{v.rowKeys.data(), v.keyChunk.data(), nullptr, v.queryBegin, 0};
    h.q = TokenRows{q.data(), q.data(), N, hd};
    h.k = TokenRows{k.data(), k.data(), N, hd};
    h.v = TokenRows{val.data(), val.data(), N, hd};
    h.out = wantOut.data();
    h.entropy = wantEnt.data();
    h.lse = wantLse.data();
    for (int begin : {64, N - 16}) {
        h.rowBegin = begin;
        h.rowEnd = begin + 16;
        reference::attentionForward(h);
    }
    EXPECT_TRUE(allClose(dEnt.download<float>(), wantEnt, 2e-4, 1e-5, "entropy"));
    EXPECT_TRUE(allClose(dLse.download<float>(), wantLse, 1e-4, 1e-5, "lse"));

    // The statistics of one query row at token 194 and at token 1,994 (window 16).
    StatsCase s;
    s.window = window;
    s.prefix = 4;
    s.queries = 1;
    s.chunks = {190};
    s.name = "statistics, query row at 194";
    const std::uint64_t statsNear = runStatsCase(s).barriers;
    s.chunks = {1990};
    s.name = "statistics, query row at 1,994";
    const std::uint64_t statsFar = runStatsCase(s).barriers;
    EXPECT_LE(statsFar, statsNear);
}

// No plan makes a row that sees no key (every row sees itself), but such a row must not keep what
// the reused buffers held (the previous layer's values): its kernels write NaN, which the
// engine's non-finite guard reports. Made by hand here: a chunk row and a query row that see
// nothing, and a query row whose only visible chunk the selection drops.
TEST(CudaKernels, RowsThatSeeNoKeyWriteNaN) {
    ATTN_REQUIRE_GPU();
    PlanView v = *makePlanView(makePlan(0, {40, 40}, 6, true));
    const int N = v.tokens, H = 4, Hkv = 2, hd = 16, Q = v.queries, P = v.chunks, qb = v.queryBegin;
    const int chunkRow = 50, queryRow = qb + 2, droppedRow = qb + 4;
    auto setKeys = [&](int i, int a, int b) {
        v.rowKeys[2 * static_cast<std::size_t>(i)] = a;
        v.rowKeys[2 * static_cast<std::size_t>(i) + 1] = b;
    };
    setKeys(chunkRow, 0, chunkRow + 1);       // [0, 0) ∪ [51, 50]: nothing
    setKeys(queryRow, 0, queryRow + 1);       // nothing
    setKeys(droppedRow, 40, droppedRow + 1);  // chunk 0 only ...
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(H) * Q * P, 1);
    for (int h = 0; h < H; ++h) keep[(static_cast<std::size_t>(h) * Q + (droppedRow - qb)) * P] = 0;  // ... dropped
    const auto q = randomFloats(static_cast<std::size_t>(N) * H * hd, 70),
               k = randomFloats(static_cast<std::size_t>(N) * Hkv * hd, 71), val = randomFloats(k.size(), 72);
    const std::vector<float> stale(static_cast<std::size_t>(H) * N, 7.0f);  // "the previous layer"
    DeviceBytes dq(q), dk(k), dv(val), dRowKeys(v.rowKeys), dKeyChunk(v.keyChunk), dChunkBegin(v.chunkBegin),
        dKeep(keep), dOut(std::vector<float>(q.size(), 7.0f)), dEnt(stale), dLse(stale);
    AttentionForwardArgs a;
    a.g = AttentionGeometry{N, H, Hkv, hd, 0.25f, 0};
    a.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, qb, P};
    a.q = TokenRows{dq.get(), dq.get(), N, H * hd};
    a.k = TokenRows{dk.get(), dk.get(), N, Hkv * hd};
    a.v = TokenRows{dv.get(), dv.get(), N, Hkv * hd};
    a.rowEnd = N;
    a.out = dOut.get();
    a.entropy = dEnt.get<float>();
    a.lse = dLse.get<float>();
    ATTN_CUDA_OK(launchAttentionForward(a, nullptr));
    const std::vector<float> lseBefore = dLse.download<float>();
    DeviceBytes dBefore(lseBefore);
    AttentionForwardArgs s = a;  // the query rows again, with the selection
    s.vis.selected = dKeep.get<std::uint8_t>();
    s.rowBegin = qb;
    s.lseBefore = dBefore.get<float>();
    ATTN_CUDA_OK(launchAttentionForward(s, nullptr));

    std::vector<float> wantEnt = stale, wantLse = stale, wantOut(q.size(), 7.0f);
    AttentionForwardArgs h = a;
    h.vis = VisibilityArgs{v.rowKeys.data(), v.keyChunk.data(), nullptr, qb, P};
    h.q = TokenRows{q.data(), q.data(), N, H * hd};
    h.k = TokenRows{k.data(), k.data(), N, Hkv * hd};
    h.v = TokenRows{val.data(), val.data(), N, Hkv * hd};
    h.out = wantOut.data();
    h.entropy = wantEnt.data();
    h.lse = wantLse.data();
    reference::attentionForward(h);
    const std::vector<float> hostBefore = wantLse;
    h.vis.selected = keep.data();
    h.rowBegin = qb;
    h.lseBefore = hostBefore.data();
    reference::attentionForward(h);
    const auto ent = dEnt.download<float>(), lse = dLse.download<float>();
    EXPECT_TRUE(allClose(ent, wantEnt, 2e-4, 1e-5, "entropy"));
    EXPECT_TRUE(allClose(lse, wantLse, 1e-4, 1e-5, "lse"));
    EXPECT_TRUE(allClose(dOut.download<float>(), wantOut, 2e-5, 1e-4, "output"));
    for (int hh = 0; hh < H; ++hh)
        for (int i : {chunkRow, queryRow, droppedRow}) {
            const std::size_t hi = static_cast<std::size_t>(hh) * N + i;
            EXPECT_TRUE(std::isnan(ent[hi]) && std::isnan(lse[hi])) << "head " << hh << " row " << i;
        }
    EXPECT_TRUE(std::isfinite(ent[static_cast<std::size_t>(qb)]) && std::isfinite(lse[static_cast<std::size_t>(qb)]));

    // The query statistics of the two query rows: NaN everywhere; the others as the twin's.
    const std::size_t hqp = static_cast<std::size_t>(H) * Q * P, hq = static_cast<std::size_t>(H) * Q;
    DeviceBytes dScore(std::vector<float>(hqp, 7.0f)), dMass(std::vector<float>(hqp, 7.0f)),
        dPre(std::vector<float>(hq, 7.0f)), dQry(std::vector<float>(hq, 7.0f));
    QueryStatsArgs st;
    st.g = a.g;
    st.vis = s.vis;
    st.q = a.q;
    st.k = a.k;
    st.chunkBegin = dChunkBegin.get<int>();
    st.lse = dLse.get<float>();
    writeStatsTo(st, dScore.get<float>(), dMass.get<float>(), dPre.get<float>(), dQry.get<float>());
    ATTN_CUDA_OK(launchQueryStats(st, nullptr));
    std::vector<float> wScore(hqp, 7.0f), wMass(hqp, 7.0f), wPre(hq, 7.0f), wQry(hq, 7.0f);
    QueryStatsArgs hs = st;
    hs.vis = h.vis;
    hs.q = h.q;
    hs.k = h.k;
    hs.chunkBegin = v.chunkBegin.data();
    hs.lse = wantLse.data();
    writeStatsTo(hs, wScore.data(), wMass.data(), wPre.data(), wQry.data());
    reference::queryStats(hs);
    const auto score = dScore.download<float>(), mass = dMass.download<float>(), pre = dPre.download<float>(),
               qry = dQry.download<float>();
    EXPECT_TRUE(allClose(score, wScore, 2e-5, 1e-4, "chunk score"));
    EXPECT_TRUE(allClose(mass, wMass, 2e-5, 1e-4, "chunk mass"));
    EXPECT_TRUE(allClose(pre, wPre, 2e-5, 1e-4, "prefix mass"));
    EXPECT_TRUE(allClose(qry, wQry, 2e-5, 1e-4, "query mass"));
    for (int hh = 0; hh < H; ++hh)
        for (int i : {queryRow, droppedRow}) {
            const std::size_t r = static_cast<std::size_t>(hh) * Q + (i - qb);
            EXPECT_TRUE(std::isnan(pre[r]) && std::isnan(qry[r])) << "head " << hh << " row " << i;
            for (int c = 0; c < P; ++c)
                EXPECT_TRUE(std::isnan(score[r * P + c]) && std::isnan(mass[r * P + c]))
                    << "head " << hh << " row " << i;
        }
    EXPECT_TRUE(std::isfinite(qry[0]) && std::isfinite(mass[0]));
}

// The geometry of the README's estimate (32 heads sharing 8 KV heads, head dim 128, bf16),
// against the twin at a size the emulator runs in seconds.
TEST(CudaKernels, QueryStatsAtModelGeometry) {
    ATTN_REQUIRE_GPU();
    StatsCase c;
    c.name = "32/8 heads, hd 128, bf16";
    c.type = ElemType::BF16;
    c.heads = 32;
    c.kvHeads = 8;
    c.hd = 128;
    c.prefix = 4;
    c.chunks = {150, 100, 170};
    c.queries = 40;
    runStatsCase(c);
}

// The same geometry at 131,072 tokens × 256 query rows on a GPU, timed (4,144 × 16 under the
// emulator, where the time says nothing): the statistics from the fused attention's lse, every
// row's masses summing to 1.
TEST(CudaKernels, QueryStatsTimedAtScale) {
    ATTN_REQUIRE_GPU();
#if defined(ATTNSCOPE_CUDA_EMULATION)
    const int chunkLength = 254, queries = 16;
#else
    const int chunkLength = 8172, queries = 256;  // 64 + 16 · 8172 + 256 = 131,072 tokens
#endif
    const PlanView v = *makePlanView(makePlan(64, std::vector<int>(16, chunkLength), queries, true));
    const int N = v.tokens, H = 32, Hkv = 8, hd = 128, Q = v.queries, P = v.chunks, qb = v.queryBegin;
    const ElemType t = ElemType::BF16;
    const std::size_t kvElems = static_cast<std::size_t>(N) * Hkv * hd;
    DeviceBytes dq(toBytes(t, randomFloats(static_cast<std::size_t>(Q) * H * hd, 80, 1.5f))),
        dk(toBytes(t, randomFloats(kvElems, 81, 1.5f))), dv(toBytes(t, randomFloats(kvElems, 82))), dRowKeys(v.rowKeys),
        dKeyChunk(v.keyChunk), dChunkBegin(v.chunkBegin), dOut(static_cast<std::size_t>(Q) * H * hd * 2),
        dEnt(static_cast<std::size_t>(H) * N * 4), dLse(static_cast<std::size_t>(H) * N * 4);
    AttentionForwardArgs a;
    a.type = t;
    a.g = AttentionGeometry{N, H, Hkv, hd, 1.0f / std::sqrt(static_cast<float>(hd)), 0};
    a.vis = VisibilityArgs{dRowKeys.get<int>(), dKeyChunk.get<int>(), nullptr, qb, P};
    a.q = TokenRows{dq.get(), dq.get(), qb, H * hd};  // query rows only: the context's are never read
    a.k = TokenRows{dk.get(), dk.get(), N, Hkv * hd};
    a.v = TokenRows{dv.get(), dv.get(), N, Hkv * hd};
    a.rowBegin = qb;
    a.rowEnd = N;
    a.out = dOut.get();
    a.outRowOffset = qb;
    a.entropy = dEnt.get<float>();
    a.lse = dLse.get<float>();
    ATTN_CUDA_OK(launchAttentionForward(a, nullptr));
    const std::size_t hqp = static_cast<std::size_t>(H) * Q * P, hq = static_cast<std::size_t>(H) * Q;
    DeviceBytes dScore(hqp * 4), dMass(hqp * 4), dPre(hq * 4), dQry(hq * 4);
    QueryStatsArgs s;
    s.type = t;
    s.g = a.g;
    s.vis = a.vis;
    s.q = a.q;
    s.k = a.k;
    s.prefixLength = v.prefixLength;
    s.chunkBegin = dChunkBegin.get<int>();
    s.lse = dLse.get<float>();
    writeStatsTo(s, dScore.get<float>(), dMass.get<float>(), dPre.get<float>(), dQry.get<float>());
    ATTN_CUDA_OK(launchQueryStats(s, nullptr));  // warm-up
    ATTN_CUDA_OK(cudaDeviceSynchronize());
    const auto start = std::chrono::steady_clock::now();
    ATTN_CUDA_OK(launchQueryStats(s, nullptr));
    ATTN_CUDA_OK(cudaDeviceSynchronize());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ timing   ] query statistics, %d tokens x %d query rows, 32/8 heads, hd 128, bf16: %.2f ms\n", N, Q,
                ms);
    RecordProperty("query_stats_ms", std::to_string(ms));
    const auto mass = dMass.download<float>(), pre = dPre.download<float>(), qry = dQry.download<float>();
    for (std::size_t r = 0; r < hq; ++r) {
        double total = pre[r] + qry[r];
        for (int c = 0; c < P; ++c) total += mass[r * P + static_cast<std::size_t>(c)];
        ASSERT_NEAR(total, 1.0, 1e-3) << "row " << r;
    }
}
