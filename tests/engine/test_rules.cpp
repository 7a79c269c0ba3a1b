// The paper's rules in their one home each, checked against the rules written out literally:
// key visibility (plan/visibility.h), entropy from online statistics (analysis/online_stats.h)
// and selective attention (analysis/selective_attention.h). Both backends and the CUDA kernels'
// twins call these, so a mistake here would show everywhere; these tests pin them down alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "analysis/online_stats.h"
#include "analysis/selective_attention.h"
#include "common/random_model.h"
#include "plan/method.h"
#include "plan/visibility.h"

using namespace attnscope;

namespace {

EncodingPlan plan(EncodingMode mode, int prefix, const std::vector<int>& chunks, int query,
                  WindowRule window = WindowRule::Physical, PositionPolicy positions = PositionPolicy::Stretch) {
    EncodingOptions o;
    o.mode = mode;
    o.window = window;
    o.positions = mode == EncodingMode::Full ? PositionPolicy::Sequential : positions;
    auto p = buildPlan(test::randomContext(7, prefix, chunks, query, 100), o, nullptr, 100);
    EXPECT_TRUE(p.ok()) << p.error().describe();
    return *p;
}

// PAPER.md's mask, literally: causal; in parallel mode a chunk token sees the prefix and its own
// chunk; a sliding window W keeps keys with i - j < W, or pos(i) - pos(j) < W under the position
// rule.
bool paperVisible(const EncodingPlan& p, int i, int j, int window) {
    const bool byPosition = p.options.window == WindowRule::Position;
    const int distance = byPosition ? p.positions[i] - p.positions[j] : i - j;
    if (j > i || (window > 0 && distance >= window)) return false;
    if (p.options.mode == EncodingMode::Full || p.segment[i] != SegmentKind::Chunk) return true;
    return p.segment[j] == SegmentKind::Prefix || p.chunk[j] == p.chunk[i];
}

// Every row of the plan: its key ranges and the kernels' keyVisible against paperVisible.
void expectThePapersVisibility(const EncodingPlan& p, int window) {
    std::vector<KeyRange> ranges;
    const int* positions = windowPositions(p);
    for (int i = 0; i < p.tokenCount(); ++i) {
        const RowKeys k = rowKeys(p, i);
        visibleKeyRanges(p, i, window, ranges);
        std::vector<bool> inRanges(static_cast<std::size_t>(p.tokenCount()), false);
        for (std::size_t r = 0; r < ranges.size(); ++r) {
            ASSERT_LT(ranges[r].begin, ranges[r].end);
            if (r > 0) ASSERT_LE(ranges[r - 1].end, ranges[r].begin);  // sorted, disjoint
            for (int j = ranges[r].begin; j < ranges[r].end; ++j) inRanges[static_cast<std::size_t>(j)] = true;
        }
        for (int j = 0; j < p.tokenCount(); ++j) {
            const bool want = paperVisible(p, i, j, window);
            EXPECT_EQ(keyVisible(i, j, k.a, k.b, window, positions), want) << "row " << i << " key " << j;
            EXPECT_EQ(inRanges[static_cast<std::size_t>(j)], want) << "row " << i << " key " << j;
            // The kernels skip keys below windowStart: none of them is visible.
            if (j < windowStart(i, window, positions)) EXPECT_FALSE(want) << "row " << i << " key " << j;
            if (window == 0) EXPECT_EQ(p.visible(i, j), want);
        }
    }
}

}  // namespace

TEST(Visibility, WindowByPositionReachesIntoEveryChunk) {
    // Prefix 3, chunks of 6 and 12 tokens (stretch: both span positions 3..14), query of 4 at 15..18.
    for (PositionPolicy positions : {PositionPolicy::Stretch, PositionPolicy::Restart, PositionPolicy::Sequential})
        for (int window : {1, 4, 9, 30}) {
            SCOPED_TRACE(std::string(toString(positions)) + ", window " + std::to_string(window));
            expectThePapersVisibility(plan(EncodingMode::Parallel, 3, {6, 12}, 4, WindowRule::Position, positions),
                                      window);
        }
    const EncodingPlan p = plan(EncodingMode::Parallel, 3, {6, 12}, 4, WindowRule::Position);
    std::vector<KeyRange> ranges;
    visibleKeyRanges(p, p.tokenCount() - 1, 4, ranges);  // last query row, position 18: keys at 15..18
    ASSERT_EQ(ranges.size(), 1u);
    visibleKeyRanges(p, p.queryBegin, 4, ranges);  // first query row, position 15: keys at 12..15
    ASSERT_EQ(ranges.size(), 2u);
    EXPECT_EQ(ranges[0].begin, 3 + 5);  // the short chunk's last token (position 13)
    EXPECT_EQ(ranges[0].end, 3 + 6);
    EXPECT_EQ(ranges[1].begin, 3 + 6 + 9);  // the long chunk's last three (12..14), then the row itself
    EXPECT_EQ(ranges[1].end, p.queryBegin + 1);
    // By index the same row sees only the last 4 keys: the end of the long chunk and itself.
    EncodingPlan physical = p;
    physical.options.window = WindowRule::Physical;
    visibleKeyRanges(physical, p.queryBegin, 4, ranges);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(ranges[0].begin, p.queryBegin - 3);
    EXPECT_NE(p.hash(), physical.hash());
    EXPECT_NE(p.contextHash(), physical.contextHash());
}

// The rule's spelling, its parsing, the settings that carry it and the method line that names it.
TEST(WindowRule, NamedParsedCarriedAndDescribed) {
    EXPECT_STREQ(toString(WindowRule::Physical), "physical");
    EXPECT_STREQ(toString(WindowRule::Position), "position");
    EXPECT_EQ(*parseWindowRule("position"), WindowRule::Position);
    auto bad = parseWindowRule("diagonal");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "unknown window rule 'diagonal' (expected physical or position)");
    MethodSettings m;
    EXPECT_EQ(m.toOptions().window, WindowRule::Physical);
    m.window = WindowRule::Position;
    for (Method method : kMethods) EXPECT_EQ(methodOptions(method, m).window, WindowRule::Position);
    const EncodingOptions o = methodOptions(Method::Sink, m);
    EXPECT_EQ(describe(o), "parallel · sink");  // a model without sliding-window layers
    EXPECT_EQ(describe(o, true), "parallel · sink · window by position");
    EXPECT_EQ(describe(methodOptions(Method::Full, MethodSettings{}), true), "full · sink · window by physical index");
}

TEST(Visibility, RowKeysRangesAndKernelRuleAgreeWithThePaper) {
    for (WindowRule rule : {WindowRule::Physical, WindowRule::Position})
        for (EncodingMode mode : {EncodingMode::Full, EncodingMode::Parallel})
            for (int prefix : {0, 3})
                for (int window : {0, 4, 9}) expectThePapersVisibility(plan(mode, prefix, {5, 2, 7}, 4, rule), window);
}

TEST(Visibility, BlocksShareTheirKeysApartFromCausality) {
    for (WindowRule rule : {WindowRule::Physical, WindowRule::Position}) {
        const EncodingPlan p = plan(EncodingMode::Parallel, 2, {5, 40, 3}, 6, rule);
        const auto blocks = visibilityBlocks(p, 0, p.tokenCount(), 32);
        ASSERT_FALSE(blocks.empty());
        EXPECT_EQ(blocks.front().begin, 0);
        EXPECT_EQ(blocks.back().end, p.tokenCount());
        std::vector<KeyRange> blockKeys, rowRanges;
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            if (b > 0) EXPECT_EQ(blocks[b].begin, blocks[b - 1].end);
            EXPECT_LE(blocks[b].end - blocks[b].begin, 32);
            for (int window : {0, 7}) {
                blockKeyRanges(p, blocks[b], window, blockKeys);
                // Every key a row of the block sees lies in the block's key ranges.
                for (int i = blocks[b].begin; i < blocks[b].end; ++i) {
                    EXPECT_EQ(p.segment[i], p.segment[blocks[b].begin]);
                    EXPECT_EQ(p.chunk[i], p.chunk[blocks[b].begin]);
                    visibleKeyRanges(p, i, window, rowRanges);
                    for (const KeyRange& r : rowRanges)
                        for (int j = r.begin; j < r.end; ++j)
                            EXPECT_TRUE(std::any_of(blockKeys.begin(), blockKeys.end(),
                                                    [j](const KeyRange& k) { return j >= k.begin && j < k.end; }))
                                << "row " << i << " key " << j;
                }
            }
        }
    }
}

TEST(OnlineStats, TileByTileEqualsTheLiteralEntropy) {
    std::mt19937 rng(3);
    std::normal_distribution<float> score(0.0f, 3.0f);
    for (int n : {1, 7, 32, 100, 333}) {
        std::vector<float> s(static_cast<std::size_t>(n));
        for (auto& x : s) x = score(rng);
        // Literal: softmax, then −Σ p ln p.
        const double mx = *std::max_element(s.begin(), s.end());
        double z = 0, H = 0;
        for (float x : s) z += std::exp(x - mx);
        for (float x : s) {
            const double p = std::exp(x - mx) / z;
            H -= p * std::log(p);
        }
        // Online, in tiles of 32 keys, as the kernels do.
        OnlineStats st;
        for (int k0 = 0; k0 < n; k0 += 32) {
            const int k1 = std::min(n, k0 + 32);
            const float mNew = std::max(st.m, *std::max_element(s.begin() + k0, s.begin() + k1));
            float sumE = 0, sumES = 0;
            for (int j = k0; j < k1; ++j) {
                sumE += std::exp(s[j] - mNew);
                sumES += std::exp(s[j] - mNew) * (s[j] - mNew);
            }
            st.absorb(mNew, sumE, sumES);
        }
        EXPECT_NEAR(st.m, mx, 1e-6);
        EXPECT_NEAR(entropyNatsLog(std::log(st.l), st.t, std::log(st.l)), H, 2e-5) << n;
        EXPECT_NEAR(entropyNats(st.l, st.t, st.l), H, 2e-5) << n;
    }
}

TEST(OnlineStats, RenormalisationFloorFollowsThePaper) {
    // Kept keys carry almost no mass: p ← p / max(Σp, 1e-5) leaves them unnormalised.
    std::vector<double> e = {1.0, 1e-9, 2e-9};  // e^(s - m); key 0 dropped by selection
    const double lAll = e[0] + e[1] + e[2], lKept = e[1] + e[2];
    const double D = renormaliser(lKept, lAll);
    EXPECT_DOUBLE_EQ(D, 1e-5 * lAll);
    double H = 0, t = 0;
    for (int j = 1; j < 3; ++j) {
        const double p = e[j] / D;
        H -= p * std::log(p);
        t += e[j] * std::log(e[j]);  // s − m = ln e
    }
    EXPECT_NEAR(entropyNats(lKept, t, D), H, 1e-12);
    EXPECT_NEAR(entropyNatsLog(std::log(lKept), t, std::log(D)), H, 1e-6);
    EXPECT_NEAR(std::exp(logRenormaliser(std::log(lKept), std::log(lAll))), D, 1e-9);
    // Enough kept mass: D is the kept sum.
    EXPECT_DOUBLE_EQ(renormaliser(0.5, 1.0), 0.5);
}

TEST(SelectiveAttention, ChunkScoreTopNAndMean) {
    std::vector<float> v = {0.1f, 0.4f, 0.05f, 0.3f, 0.2f};
    EXPECT_NEAR(chunkScore(v, 2, 5), 0.7, 1e-7);
    EXPECT_NEAR(chunkScore(v, 5, 5), 1.05, 1e-7);
    EXPECT_NEAR(chunkScore(v, 9, 5), 1.05, 1e-7);    // fewer keys than n: all of them
    EXPECT_NEAR(chunkScore(v, 0, 10), 0.105, 1e-7);  // mean over the chunk's whole length
    std::vector<float> none;
    EXPECT_EQ(chunkScore(none, 5, 4), 0.0);
}

TEST(SelectiveAttention, TopKKeepsTheLowerIndexOnTies) {
    const float scores[] = {0.2f, 0.5f, 0.2f, 0.5f, 0.1f};
    std::uint8_t keep[5];
    std::vector<int> order;
    keepTopK(scores, 5, 3, keep, order);
    EXPECT_EQ(std::vector<int>(keep, keep + 5), (std::vector<int>{1, 1, 0, 1, 0}));
    keepTopK(scores, 5, 5, keep, order);
    EXPECT_EQ(std::vector<int>(keep, keep + 5), (std::vector<int>{1, 1, 1, 1, 1}));
}

TEST(SelectiveAttention, HeadsQueriesSharesOneSelectionPerLayer) {
    // 2 heads × 3 queries × 4 chunks. Per (head, query) the winners differ; per layer chunk 2
    // has the largest sum of its top-5 scores, then chunk 0.
    const std::vector<float> s = {0.9f, 0.0f, 0.5f, 0.1f, 0.1f, 0.8f, 0.5f, 0.0f, 0.4f, 0.0f, 0.5f, 0.0f,
                                  0.0f, 0.7f, 0.5f, 0.0f, 0.3f, 0.0f, 0.5f, 0.2f, 0.2f, 0.1f, 0.5f, 0.6f};
    SelectiveAttention sel;
    sel.topK = 2;
    std::vector<std::uint8_t> keep(s.size());
    selectChunks(s.data(), 2, 3, 4, sel, keep.data());
    EXPECT_EQ(std::vector<int>(keep.begin(), keep.begin() + 4), (std::vector<int>{1, 0, 1, 0}));  // per row
    EXPECT_EQ(std::vector<int>(keep.begin() + 4, keep.begin() + 8), (std::vector<int>{0, 1, 1, 0}));
    sel.aggregation = SelectAggregation::HeadsQueries;
    selectChunks(s.data(), 2, 3, 4, sel, keep.data());
    // Top-5 sums: chunk 0: .9+.4+.3+.2+.1 = 1.9; chunk 1: .8+.7+.1 = 1.6; chunk 2: 2.5; chunk 3: .9.
    for (std::size_t hq = 0; hq < 6; ++hq)
        EXPECT_EQ(std::vector<int>(keep.begin() + hq * 4, keep.begin() + hq * 4 + 4), (std::vector<int>{1, 0, 1, 0}));
    EXPECT_TRUE(selectionActive(sel, 4, 3));
    EXPECT_FALSE(selectionActive(sel, 2, 3));  // K covers every chunk
    EXPECT_FALSE(selectionActive(sel, 4, 0));
}
