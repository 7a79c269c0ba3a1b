#pragma once
// Synthetic but realistic inputs for the widget tests and the sample renderer: a parallel-encoding
// layout [prefix | chunk 1..P | query], attention rows that follow the parallel mask (a sink on the
// first prefix token, a recency bias, some content spikes), pooled like the engine pools tiles,
// and per-layer entropies with the paper's trends.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <QStringList>
#include <QVector>

#include "analysis/attention_tile.h"
#include "session/sweep.h"
#include "heatmap_data.h"

namespace synthetic {

inline attnscope::widgets::TokenAxisInfo axisInfo(int prefix, int chunks, int chunkLen, int query) {
    using attnscope::SegmentKind;
    static const QStringList words = {
        QStringLiteral("▁Once"), QStringLiteral("▁upon"), QStringLiteral("▁a"),     QStringLiteral("▁time"),
        QStringLiteral(","),      QStringLiteral("▁there"), QStringLiteral("▁was"),  QStringLiteral("▁a"),
        QStringLiteral("▁little"), QStringLiteral("▁girl"), QStringLiteral("▁named"), QStringLiteral("▁Lily"),
        QStringLiteral("."),      QStringLiteral("▁She"),  QStringLiteral("▁loved"), QStringLiteral("▁to"),
        QStringLiteral("▁play"),  QStringLiteral("▁in"),   QStringLiteral("▁the"),   QStringLiteral("▁park"),
        QStringLiteral("\n")};
    attnscope::widgets::TokenAxisInfo info;
    int t = 0;
    auto push = [&](SegmentKind k, int chunk) {
        info.segments.push_back(k);
        info.chunkOfToken.push_back(chunk);
        info.tokenTexts.push_back(words[t % words.size()]);
        info.tokenIds.push_back(100 + (t * 37) % 500);
        ++t;
    };
    for (int i = 0; i < prefix; ++i) push(SegmentKind::Prefix, -1);
    info.prefixLength = prefix;
    for (int c = 0; c < chunks; ++c) {
        const int begin = t;
        for (int i = 0; i < chunkLen; ++i) push(SegmentKind::Chunk, c);
        info.chunkRanges.push_back({begin, t});
    }
    info.queryBegin = t;
    for (int i = 0; i < query; ++i) push(SegmentKind::Query, -1);
    return info;
}

// Parallel-mode visibility (PAPER.md): chunk tokens see the prefix and earlier tokens of their
// chunk; prefix tokens see earlier prefix tokens; query tokens see everything before them.
inline bool visible(const attnscope::widgets::TokenAxisInfo& info, int i, int j) {
    if (j > i) return false;
    using attnscope::SegmentKind;
    if (info.segments[i] == SegmentKind::Chunk && info.segments[j] == SegmentKind::Chunk)
        return info.chunkOfToken[i] == info.chunkOfToken[j];
    return true;
}

// One attention row per token, softmax over visible keys. [token][key]
inline std::vector<double> attentionRows(const attnscope::widgets::TokenAxisInfo& info, unsigned seed = 7) {
    const int n = info.tokenCount();
    std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.8);
    std::vector<double> spike(n);
    for (double& s : spike) s = noise(rng) * 1.5;
    for (int i = 0; i < n; ++i) {
        double maxL = -1e300;
        std::vector<double> logits(n, -1e300);
        for (int j = 0; j <= i; ++j) {
            if (!visible(info, i, j)) continue;
            double l = noise(rng) + spike[j] - 0.7 * std::log1p(static_cast<double>(i - j));
            if (j == 0) l += 4.0;          // attention sink
            if (j == i) l += 1.0;
            logits[j] = l;
            maxL = std::max(maxL, l);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j)
            if (logits[j] > -1e299) sum += std::exp(logits[j] - maxL);
        for (int j = 0; j <= i; ++j)
            if (logits[j] > -1e299) a[static_cast<std::size_t>(i) * n + j] = std::exp(logits[j] - maxL) / sum;
    }
    return a;
}

// Mean-pools rows [r0, r1) × cols [c0, c1) of `full` (n×n) into outRows × outCols.
inline attnscope::AttentionTile pooledTile(const std::vector<double>& full, int n, int r0, int r1, int c0, int c1,
                                           int outRows, int outCols, int layer = 0, int head = -1) {
    attnscope::AttentionTile tile;
    tile.request.layer = layer;
    tile.request.head = head;
    tile.request.rowBegin = r0;
    tile.request.rowEnd = r1;
    tile.request.colBegin = c0;
    tile.request.colEnd = c1;
    tile.rows = std::min(outRows, r1 - r0);
    tile.cols = std::min(outCols, c1 - c0);
    tile.request.outRows = tile.rows;
    tile.request.outCols = tile.cols;
    for (int r = 0; r <= tile.rows; ++r) tile.rowEdges.push_back(r0 + static_cast<int>((long long)(r1 - r0) * r / tile.rows));
    for (int c = 0; c <= tile.cols; ++c) tile.colEdges.push_back(c0 + static_cast<int>((long long)(c1 - c0) * c / tile.cols));
    tile.values.resize(static_cast<std::size_t>(tile.rows) * tile.cols);
    for (int r = 0; r < tile.rows; ++r)
        for (int c = 0; c < tile.cols; ++c) {
            double s = 0;
            int count = 0;
            for (int i = tile.rowEdges[r]; i < tile.rowEdges[r + 1]; ++i)
                for (int j = tile.colEdges[c]; j < tile.colEdges[c + 1]; ++j, ++count) s += full[static_cast<std::size_t>(i) * n + j];
            tile.values[static_cast<std::size_t>(r) * tile.cols + c] = static_cast<float>(count ? s / count : 0);
        }
    return tile;
}

// Entropy (nats) of each attention row.
inline QVector<double> rowEntropy(const std::vector<double>& full, int n) {
    QVector<double> h(n, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            const double p = full[static_cast<std::size_t>(i) * n + j];
            if (p > 0) h[i] -= p * std::log(p);
        }
    return h;
}

// Per-layer mean query entropy with the paper's shape: low in the first layers, a bump in the
// middle; parallel above full, sink a bit lower, selective below full.
inline QVector<double> layerCurve(int layers, double mean, double wiggle) {
    QVector<double> v;
    for (int l = 0; l < layers; ++l) {
        const double x = layers > 1 ? static_cast<double>(l) / (layers - 1) : 0;
        v.push_back(mean + wiggle * (std::sin(x * 5.0) * 0.6 + (x - 0.5) * 0.8 - (l == 0 ? 0.9 : 0)));
    }
    return v;
}

inline std::vector<attnscope::SweepRow> sweepRows() {
    using attnscope::Method;
    // Mean query entropy and perplexity vs P (stories260K-like numbers, PAPER.md).
    const std::vector<int> parts = {1, 2, 4, 8, 16};
    const double parallel[] = {2.04, 2.27, 2.52, 2.66, 2.73};
    const double sink[] = {2.04, 2.16, 2.31, 2.42, 2.49};
    const double selective[] = {2.04, 2.12, 2.19, 2.01, 1.86};
    const double both[] = {2.04, 2.08, 2.10, 1.95, 1.82};
    const double ppl[] = {5.35, 5.66, 6.16, 6.92, 7.97};
    std::vector<attnscope::SweepRow> rows;
    for (int i = 0; i < 5; ++i) {
        const int P = parts[i];
        auto add = [&](Method m, double e, double p) {
            attnscope::SweepRow r;
            r.method = m;
            r.parts = P;
            r.contextTokens = 960;
            r.chunkTokens = (960 + P - 1) / P;
            r.meanEntropy = e;
            r.perplexity = p;
            rows.push_back(r);
        };
        add(Method::Full, 2.04, 5.35);
        add(Method::Parallel, parallel[i], ppl[i]);
        add(Method::Sink, sink[i], 5.35 + (ppl[i] - 5.35) * 0.6);
        add(Method::Selective, selective[i], 5.35 + (ppl[i] - 5.35) * 0.45);
        add(Method::Both, both[i], 5.35 + (ppl[i] - 5.35) * 0.3);
    }
    return rows;
}

}  // namespace synthetic
