#pragma once
// Inputs the kernel tests share: random values, their bytes in a storage type, and synthetic
// encoding plans (prefix, chunks, query; ids all 0) for the visibility rule.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "backend/cuda/kernels_reference.h"
#include "core/dtype.h"
#include "plan/encoding_plan.h"

namespace attnscope::cuda::test {

// n values uniform in [-amp, amp], the same for the same seed.
inline std::vector<float> randomFloats(std::size_t n, std::uint32_t seed, float amp = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-amp, amp);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

// Host bytes of `values` in storage type t.
inline std::vector<std::uint8_t> toBytes(ElemType t, const std::vector<float>& values) {
    std::vector<std::uint8_t> b(values.size() * elemSize(t));
    for (std::size_t i = 0; i < values.size(); ++i) reference::storeElem(t, b.data(), i, values[i]);
    return b;
}

inline std::vector<float> fromBytes(ElemType t, const std::vector<std::uint8_t>& b) {
    std::vector<float> v(b.size() / elemSize(t));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = reference::loadElem(t, b.data(), i);
    return v;
}

// A plan of `prefix` shared tokens, one chunk per entry of `chunks` and `queries` query tokens,
// in parallel or full mode, with its window rule.
inline EncodingPlan makePlan(int prefix, const std::vector<int>& chunks, int queries, bool parallel,
                             WindowRule window = WindowRule::Physical) {
    EncodingPlan p;
    p.options.mode = parallel ? EncodingMode::Parallel : EncodingMode::Full;
    p.options.window = window;
    // Positions by the restart rule in parallel mode (each chunk from S, the query after the
    // longest chunk), so that a window by position differs from one by index.
    int longest = 0;
    for (int n : chunks) longest = std::max(longest, n);
    auto push = [&](SegmentKind s, int c) {
        const int t = p.tokenCount();
        int position = t;
        if (parallel && s == SegmentKind::Chunk) position = prefix + (t - p.chunkRanges.back().begin);
        if (parallel && s == SegmentKind::Query) position = prefix + longest + (t - p.queryBegin);
        p.ids.push_back(0);
        p.segment.push_back(s);
        p.chunk.push_back(c);
        p.positions.push_back(position);
    };
    for (int i = 0; i < prefix; ++i) push(SegmentKind::Prefix, -1);
    p.prefixLength = prefix;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        p.chunkRanges.push_back(KeyRange{p.tokenCount(), p.tokenCount() + chunks[c]});
        for (int t = 0; t < chunks[c]; ++t) push(SegmentKind::Chunk, static_cast<int>(c));
    }
    p.queryBegin = p.tokenCount();
    for (int t = 0; t < queries; ++t) push(SegmentKind::Query, -1);
    return p;
}

}  // namespace attnscope::cuda::test
