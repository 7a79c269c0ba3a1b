#include "backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_kernels.h"

namespace attnscope::cpu {

namespace {

struct Geometry {
    int n, nHeads, nKv, hd, groups, qStride, kStride, P, Q, queryBegin;
    float scale;
};

Geometry geometry(const EncodingPlan& plan, const ModelConfig& cfg) {
    Geometry g{};
    g.n = plan.tokenCount();
    g.nHeads = cfg.nHeads;
    g.nKv = cfg.nKvHeads;
    g.hd = cfg.headDim;
    g.groups = cfg.nHeads / cfg.nKvHeads;
    g.qStride = cfg.nHeads * cfg.headDim;
    g.kStride = cfg.nKvHeads * cfg.headDim;
    g.P = plan.chunkCount();
    g.Q = plan.queryCount();
    g.queryBegin = plan.queryBegin;
    g.scale = cfg.attentionScale();
    return g;
}

// Scratch of one worker: exponentiated scores indexed by key, and the key ranges of the row.
struct RowScratch {
    std::vector<float> e;           // [N]: s_j first, then e^(s_j - m)
    std::vector<float> s;           // [N]: raw scaled scores s_j
    std::vector<KeyRange> ranges;
    std::vector<float> tmp;
};

RowScratch& scratch(int n) {
    thread_local RowScratch sc;
    if (static_cast<int>(sc.e.size()) < n) {
        sc.e.resize(static_cast<std::size_t>(n));
        sc.s.resize(static_cast<std::size_t>(n));
    }
    return sc;
}

// Scores of one row, exponentiated: fills sc.ranges, sc.s, sc.e; returns the total sum l.
double rowExp(const EncodingPlan& plan, const Geometry& g, int window, const float* q, const float* k, int head,
              int row, RowScratch& sc) {
    plan.visibleRanges(row, sc.ranges);
    if (window > 0) {
        int lo = row - window + 1;
        for (auto& r : sc.ranges) r.begin = std::max(r.begin, lo);
        sc.ranges.erase(std::remove_if(sc.ranges.begin(), sc.ranges.end(), [](const KeyRange& r) { return r.end <= r.begin; }),
                        sc.ranges.end());
    }
    const float* qv = q + static_cast<std::size_t>(row) * g.qStride + static_cast<std::size_t>(head) * g.hd;
    const int kvh = head / g.groups;
    float m = -std::numeric_limits<float>::infinity();
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float s = g.scale * dot(qv, k + static_cast<std::size_t>(j) * g.kStride + static_cast<std::size_t>(kvh) * g.hd, g.hd);
            sc.s[static_cast<std::size_t>(j)] = s;
            m = std::max(m, s);
        }
    double l = 0;
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float e = std::exp(sc.s[static_cast<std::size_t>(j)] - m);
            sc.s[static_cast<std::size_t>(j)] -= m;  // keep s - m for the entropy term
            sc.e[static_cast<std::size_t>(j)] = e;
            l += e;
        }
    return l;
}

// Chunk scores of one query row from its unfiltered probabilities: sum of the top-n
// probabilities inside each chunk (n <= 0: the chunk's mean probability). out = [P].
// Keys outside the row's visible ranges (e.g. beyond a sliding window) count as probability 0.
void chunkScores(const EncodingPlan& plan, const Geometry& g, int topN, double l, RowScratch& sc, float* out) {
    for (int c = 0; c < g.P; ++c) {
        const KeyRange& r = plan.chunkRanges[static_cast<std::size_t>(c)];
        const int len = r.end - r.begin;
        sc.tmp.clear();
        for (const auto& v : sc.ranges)
            for (int j = std::max(v.begin, r.begin); j < std::min(v.end, r.end); ++j) sc.tmp.push_back(sc.e[static_cast<std::size_t>(j)]);
        if (len <= 0 || sc.tmp.empty()) { out[c] = 0; continue; }
        if (topN <= 0) {
            double s = 0;
            for (float e : sc.tmp) s += e;
            out[c] = static_cast<float>(s / l / len);
            continue;
        }
        int n = std::min(topN, static_cast<int>(sc.tmp.size()));
        std::nth_element(sc.tmp.begin(), sc.tmp.begin() + (n - 1), sc.tmp.end(), std::greater<float>());
        double s = 0;
        for (int i = 0; i < n; ++i) s += sc.tmp[static_cast<std::size_t>(i)];
        out[c] = static_cast<float>(s / l);
    }
}

// Top-K chunk indices by score (ties: lower index first) → keep mask [P].
void topKMask(const float* scores, int P, int K, std::uint8_t* keep, std::vector<int>& order) {
    if (K >= P) { std::fill(keep, keep + P, std::uint8_t{1}); return; }
    order.resize(static_cast<std::size_t>(P));
    for (int c = 0; c < P; ++c) order[static_cast<std::size_t>(c)] = c;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    std::fill(keep, keep + P, std::uint8_t{0});
    for (int i = 0; i < K; ++i) keep[order[static_cast<std::size_t>(i)]] = 1;
}

// Final pass of one row: applies the keep mask, writes stats and the value mix.
void finishRow(const EncodingPlan& plan, const Geometry& g, const AttentionLayerIo& io, int head, int row, double lTotal,
               const std::uint8_t* keep, RowScratch& sc) {
    // Drop keys of unselected chunks (query rows only) and sum what is left.
    double lKept = 0, tKept = 0;
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float& e = sc.e[static_cast<std::size_t>(j)];
            if (keep) {
                int c = plan.chunk[static_cast<std::size_t>(j)];
                if (c >= 0 && !keep[c]) e = 0;
            }
            lKept += e;
            tKept += static_cast<double>(e) * sc.s[static_cast<std::size_t>(j)];
        }
    // p' = e / D with D = max(l_kept, 1e-5 · l_total) (PAPER.md: p <- p / max(Σp, 1e-5)).
    const double D = std::max(lKept, 1e-5 * lTotal);
    if (io.entropy)
        io.entropy[static_cast<std::size_t>(head) * g.n + row] =
            static_cast<float>(lKept / D * std::log(D) - tKept / D);

    const int q = row - g.queryBegin;
    if (q >= 0) {
        std::size_t hq = static_cast<std::size_t>(head) * g.Q + q;
        double pre = 0, qry = 0;
        if (io.chunkMass)
            for (int c = 0; c < g.P; ++c) io.chunkMass[hq * g.P + c] = 0;
        for (const auto& r : sc.ranges)
            for (int j = r.begin; j < r.end; ++j) {
                double p = sc.e[static_cast<std::size_t>(j)] / D;
                switch (plan.segment[static_cast<std::size_t>(j)]) {
                    case SegmentKind::Prefix: pre += p; break;
                    case SegmentKind::Query: qry += p; break;
                    case SegmentKind::Chunk:
                        if (io.chunkMass) io.chunkMass[hq * g.P + plan.chunk[static_cast<std::size_t>(j)]] += static_cast<float>(p);
                        break;
                }
            }
        if (io.prefixMass) io.prefixMass[hq] = static_cast<float>(pre);
        if (io.queryMass) io.queryMass[hq] = static_cast<float>(qry);
    }

    // Value mix.
    float* o = io.out + static_cast<std::size_t>(row) * g.qStride + static_cast<std::size_t>(head) * g.hd;
    std::fill(o, o + g.hd, 0.0f);
    const int kvh = head / g.groups;
    const float invD = static_cast<float>(1.0 / D);
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float p = sc.e[static_cast<std::size_t>(j)] * invD;
            if (p == 0) continue;
            const float* vj = io.v + static_cast<std::size_t>(j) * g.kStride + static_cast<std::size_t>(kvh) * g.hd;
            for (int d = 0; d < g.hd; ++d) o[d] += p * vj[d];
        }
}

}  // namespace

void attentionLayer(ThreadPool& pool, const AttentionLayerIo& io) {
    const EncodingPlan& plan = *io.plan;
    const Geometry g = geometry(plan, *io.cfg);
    const auto& sel = plan.options.selective;
    const bool selecting = sel.enabled() && g.P > sel.topK && g.Q > 0;
    const int selectFrom = selecting ? g.queryBegin : g.n;  // rows handled by the two-pass path

    // Pass over rows that need no selection: one (head, row) item at a time.
    const int plainRows = std::max(0, selectFrom - io.rowBegin);
    if (plainRows > 0) {
        const std::size_t items = static_cast<std::size_t>(plainRows) * g.nHeads;
        pool.parallelFor(items, 16, [&](std::size_t a, std::size_t b) {
            RowScratch& sc = scratch(g.n);
            for (std::size_t it = a; it < b; ++it) {
                int head = static_cast<int>(it % g.nHeads);
                int row = io.rowBegin + static_cast<int>(it / g.nHeads);
                double l = rowExp(plan, g, io.window, io.q, io.k, head, row, sc);
                finishRow(plan, g, io, head, row, l, nullptr, sc);
            }
        });
    }
    if (io.selected) {
        std::size_t total = static_cast<std::size_t>(g.nHeads) * g.Q * g.P;
        std::fill(io.selected, io.selected + total, std::uint8_t{1});
    }
    if (!selecting) return;

    // Selective attention for query rows: (A) chunk scores from the unfiltered probabilities,
    // (B) choose chunks per (head, query) or once per layer, (C) final pass with the mask.
    const int Q = g.Q, P = g.P;
    std::vector<float> scores(static_cast<std::size_t>(g.nHeads) * Q * P);
    const std::size_t items = static_cast<std::size_t>(Q) * g.nHeads;
    pool.parallelFor(items, 8, [&](std::size_t a, std::size_t b) {
        RowScratch& sc = scratch(g.n);
        for (std::size_t it = a; it < b; ++it) {
            int head = static_cast<int>(it % g.nHeads), q = static_cast<int>(it / g.nHeads);
            double l = rowExp(plan, g, io.window, io.q, io.k, head, g.queryBegin + q, sc);
            chunkScores(plan, g, sel.scoreTopN, l, sc, &scores[(static_cast<std::size_t>(head) * Q + q) * P]);
        }
    });

    std::vector<std::uint8_t> keep(static_cast<std::size_t>(g.nHeads) * Q * P);
    std::vector<int> order;
    if (sel.aggregation == SelectAggregation::None) {
        for (std::size_t hq = 0; hq < static_cast<std::size_t>(g.nHeads) * Q; ++hq)
            topKMask(&scores[hq * P], P, sel.topK, &keep[hq * P], order);
    } else {
        // Per layer: score of chunk m = sum of its 5 largest per-(head, query) scores.
        std::vector<float> layerScore(static_cast<std::size_t>(P));
        std::vector<float> col;
        for (int c = 0; c < P; ++c) {
            col.clear();
            for (std::size_t hq = 0; hq < static_cast<std::size_t>(g.nHeads) * Q; ++hq) col.push_back(scores[hq * P + c]);
            int n = std::min<int>(5, static_cast<int>(col.size()));
            std::partial_sort(col.begin(), col.begin() + n, col.end(), std::greater<float>());
            double s = 0;
            for (int i = 0; i < n; ++i) s += col[static_cast<std::size_t>(i)];
            layerScore[static_cast<std::size_t>(c)] = static_cast<float>(s);
        }
        std::vector<std::uint8_t> layerKeep(static_cast<std::size_t>(P));
        topKMask(layerScore.data(), P, sel.topK, layerKeep.data(), order);
        for (std::size_t hq = 0; hq < static_cast<std::size_t>(g.nHeads) * Q; ++hq)
            std::copy(layerKeep.begin(), layerKeep.end(), keep.begin() + static_cast<std::ptrdiff_t>(hq * P));
    }
    if (io.selected) std::copy(keep.begin(), keep.end(), io.selected);

    pool.parallelFor(items, 8, [&](std::size_t a, std::size_t b) {
        RowScratch& sc = scratch(g.n);
        for (std::size_t it = a; it < b; ++it) {
            int head = static_cast<int>(it % g.nHeads), q = static_cast<int>(it / g.nHeads);
            int row = g.queryBegin + q;
            double l = rowExp(plan, g, io.window, io.q, io.k, head, row, sc);
            finishRow(plan, g, io, head, row, l, &keep[(static_cast<std::size_t>(head) * Q + q) * P], sc);
        }
    });
}

void attentionRow(const EncodingPlan& plan, const ModelConfig& cfg, int window, const float* q, const float* k,
                  int head, int row, const std::uint8_t* keep, std::vector<float>& probs) {
    const Geometry g = geometry(plan, cfg);
    RowScratch& sc = scratch(g.n);
    double l = rowExp(plan, g, window, q, k, head, row, sc);
    probs.assign(static_cast<std::size_t>(row) + 1, 0.0f);
    double lKept = 0;
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float e = sc.e[static_cast<std::size_t>(j)];
            if (keep) {
                int c = plan.chunk[static_cast<std::size_t>(j)];
                if (c >= 0 && !keep[c]) e = 0;
            }
            probs[static_cast<std::size_t>(j)] = e;
            lKept += e;
        }
    const double D = std::max(lKept, 1e-5 * l);
    for (auto& p : probs) p = static_cast<float>(p / D);
}

}  // namespace attnscope::cpu
