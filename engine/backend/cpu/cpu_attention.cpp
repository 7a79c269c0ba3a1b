#include "backend/cpu/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "analysis/online_stats.h"
#include "analysis/selective_attention.h"
#include "backend/cpu/cpu_kernels.h"
#include "plan/visibility.h"

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
    std::vector<float> e;          // [N]: e^(s_j - m) by key index
    std::vector<float> s;          // [N]: s_j - m by key index
    std::vector<KeyRange> ranges;  // keys of the current row
    std::vector<float> tmp;
    // Row block: scores / probabilities [rows][cols] over the block's key ranges.
    std::vector<float> block;
    std::vector<KeyRange> blockRanges;
    std::vector<int> blockOffsets;  // column of each block range's first key
    int cols = 0;
};

RowScratch& scratch(int n) {
    thread_local RowScratch sc;
    if (static_cast<int>(sc.e.size()) < n) {
        sc.e.resize(static_cast<std::size_t>(n));
        sc.s.resize(static_cast<std::size_t>(n));
    }
    return sc;
}

// Column of key j in the current block (j must lie in one of the block's ranges).
int colOf(const RowScratch& sc, int j) {
    for (std::size_t b = 0; b < sc.blockRanges.size(); ++b)
        if (j >= sc.blockRanges[b].begin && j < sc.blockRanges[b].end)
            return sc.blockOffsets[b] + (j - sc.blockRanges[b].begin);
    return 0;
}

// Scores of one row, exponentiated: fills sc.ranges, sc.s, sc.e; returns the total sum l.
double rowExp(const EncodingPlan& plan, const Geometry& g, int window, const float* q, const float* k, int head,
              int row, RowScratch& sc) {
    visibleKeyRanges(plan, row, window, sc.ranges);
    const float* qv = q + static_cast<std::size_t>(row) * g.qStride + static_cast<std::size_t>(head) * g.hd;
    const int kvh = head / g.groups;
    float m = -std::numeric_limits<float>::infinity();
    for (const auto& r : sc.ranges)
        for (int j = r.begin; j < r.end; ++j) {
            float s = g.scale *
                      dot(qv, k + static_cast<std::size_t>(j) * g.kStride + static_cast<std::size_t>(kvh) * g.hd, g.hd);
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

// e^x for x <= 0 (scores minus their max), vectorisable: 2^(x·log2 e) split into integer and
// fractional parts, the latter by a degree-6 polynomial. Relative error < 2e-7.
ATTN_CLONES void expShifted(const float* x, float* y, int n) {
    for (int i = 0; i < n; ++i) {
        float t = std::max(x[i], -87.0f) * 1.44269504088896341f;
        float fi = std::floor(t);
        float f = t - fi;
        float p = 1.535336188319500e-4f;
        p = p * f + 1.339887440266574e-3f;
        p = p * f + 9.618437357674640e-3f;
        p = p * f + 5.550332471162809e-2f;
        p = p * f + 2.402264791363012e-1f;
        p = p * f + 6.931472028550421e-1f;
        p = p * f + 1.0f;
        std::int32_t bits = (static_cast<std::int32_t>(fi) + 127) << 23;
        float scale;
        std::memcpy(&scale, &bits, 4);
        y[i] = p * scale;
    }
}

// Scores of rows [i0, i1) (one visibility block) against the keys of the block's last row:
// sc.block[r][col] = scale · q_{i0+r} · k_j, via a small GEMM per contiguous key range.
void blockScores(const EncodingPlan& plan, const Geometry& g, int window, const float* q, const float* k, int head,
                 int i0, int i1, RowScratch& sc) {
    blockKeyRanges(plan, RowBlock{i0, i1}, window, sc.blockRanges);
    sc.blockOffsets.clear();
    sc.cols = 0;
    for (const auto& r : sc.blockRanges) {
        sc.blockOffsets.push_back(sc.cols);
        sc.cols += r.end - r.begin;
    }
    const int rows = i1 - i0;
    sc.block.resize(static_cast<std::size_t>(rows) * std::max(sc.cols, 1));
    const int kvh = head / g.groups;
    for (std::size_t b = 0; b < sc.blockRanges.size(); ++b) {
        const KeyRange& r = sc.blockRanges[b];
        gemmABtSerial(rows, r.end - r.begin, g.hd,
                      q + static_cast<std::size_t>(i0) * g.qStride + static_cast<std::size_t>(head) * g.hd, g.qStride,
                      k + static_cast<std::size_t>(r.begin) * g.kStride + static_cast<std::size_t>(kvh) * g.hd,
                      g.kStride, sc.block.data() + sc.blockOffsets[b], sc.cols);
    }
    for (auto& v : sc.block) v *= g.scale;
}

// Row `row` of the current block: its visible keys (causal end, window start) go into
// sc.ranges, s_j − m into sc.s and e^(s_j − m) into sc.e. Returns l = Σ e.
double rowFromBlock(const EncodingPlan& plan, int window, int i0, int row, RowScratch& sc) {
    visibleKeyRanges(plan, row, window, sc.ranges);
    const float* srow = sc.block.data() + static_cast<std::size_t>(row - i0) * sc.cols;
    float m = -std::numeric_limits<float>::infinity();
    for (const auto& r : sc.ranges) {
        const float* src = srow + colOf(sc, r.begin);
        for (int j = r.begin; j < r.end; ++j) m = std::max(m, src[j - r.begin]);
    }
    double l = 0;
    for (const auto& r : sc.ranges) {
        const float* src = srow + colOf(sc, r.begin);
        float* sdst = sc.s.data() + r.begin;
        const int len = r.end - r.begin;
        for (int t = 0; t < len; ++t) sdst[t] = src[t] - m;
        expShifted(sdst, sc.e.data() + r.begin, len);
        for (int t = 0; t < len; ++t) l += sc.e[static_cast<std::size_t>(r.begin + t)];
    }
    return l;
}

// Chunk scores of one query row from its unfiltered probabilities (selective_attention.h);
// keys outside the row's visible ranges (beyond a sliding window) count as probability 0.
// out = [P].
void chunkScores(const EncodingPlan& plan, const Geometry& g, int topN, double l, RowScratch& sc, float* out) {
    for (int c = 0; c < g.P; ++c) {
        const KeyRange& r = plan.chunkRanges[static_cast<std::size_t>(c)];
        sc.tmp.clear();
        for (const auto& v : sc.ranges)
            for (int j = std::max(v.begin, r.begin); j < std::min(v.end, r.end); ++j)
                sc.tmp.push_back(sc.e[static_cast<std::size_t>(j)]);
        out[c] = static_cast<float>(chunkScore(sc.tmp, topN, r.end - r.begin) / l);
    }
}

// Final pass of one row of a block: applies the keep mask, writes its statistics and leaves its
// probabilities in the block matrix for the value mix.
void finishRow(const EncodingPlan& plan, const Geometry& g, const AttentionLayerIo& io, int head, int i0, int row,
               double lTotal, const std::uint8_t* keep, RowScratch& sc) {
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
    // p' = e / D with D = max(l_kept, 1e-5 · l_total) (online_stats.h).
    const double D = renormaliser(lKept, lTotal);
    if (io.entropy)
        io.entropy[static_cast<std::size_t>(head) * g.n + row] = static_cast<float>(entropyNats(lKept, tKept, D));

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
                        if (io.chunkMass)
                            io.chunkMass[hq * g.P + plan.chunk[static_cast<std::size_t>(j)]] += static_cast<float>(p);
                        break;
                }
            }
        if (io.prefixMass) io.prefixMass[hq] = static_cast<float>(pre);
        if (io.queryMass) io.queryMass[hq] = static_cast<float>(qry);
    }

    // Probabilities back into the block row (0 for keys this row may not see) for the value mix.
    float* prow = sc.block.data() + static_cast<std::size_t>(row - i0) * sc.cols;
    std::fill(prow, prow + sc.cols, 0.0f);
    const float invD = static_cast<float>(1.0 / D);
    for (const auto& r : sc.ranges) {
        float* dst = prow + colOf(sc, r.begin);
        for (int j = r.begin; j < r.end; ++j) dst[j - r.begin] = sc.e[static_cast<std::size_t>(j)] * invD;
    }
}

constexpr int kBlockRows = 32;  // rows of one visibility block scored together

// out rows of the block = P_block · V over the block's key ranges.
void valueMix(const Geometry& g, const AttentionLayerIo& io, int head, int i0, int i1, RowScratch& sc) {
    const int kvh = head / g.groups;
    float* out = io.out + static_cast<std::size_t>(i0) * g.qStride + static_cast<std::size_t>(head) * g.hd;
    for (std::size_t b = 0; b < sc.blockRanges.size(); ++b) {
        const KeyRange& r = sc.blockRanges[b];
        gemmAB(i1 - i0, g.hd, r.end - r.begin, sc.block.data() + sc.blockOffsets[b], sc.cols,
               io.v + static_cast<std::size_t>(r.begin) * g.kStride + static_cast<std::size_t>(kvh) * g.hd, g.kStride,
               out, g.qStride, b == 0 ? 0.0f : 1.0f);
    }
    if (sc.blockRanges.empty())
        for (int i = i0; i < i1; ++i)
            std::fill(out + static_cast<std::size_t>(i - i0) * g.qStride,
                      out + static_cast<std::size_t>(i - i0) * g.qStride + g.hd, 0.0f);
}

}  // namespace

void attentionLayer(ThreadPool& pool, const AttentionLayerIo& io) {
    const EncodingPlan& plan = *io.plan;
    const Geometry g = geometry(plan, *io.cfg);
    const auto& sel = plan.options.selective;
    // The query rows of this call, [callFirst, N): all query rows, or a decode call's one row.
    // Selective attention makes one choice per call (PAPER.md, "Generation").
    const int callFirst = std::max(io.rowBegin, g.queryBegin);
    const int callRows = g.n - callFirst, qOffset = callFirst - g.queryBegin;
    const bool selecting = selectionActive(sel, g.P, callRows);
    const int selectFrom = selecting ? callFirst : g.n;  // rows handled by the two-pass path

    // Runs `perRow(head, i0, row, l)` on every row of `blocks` for every head, one (head, row
    // block) item at a time, after the block's scores are formed; `mix` adds the value mix.
    auto forBlocks = [&](const std::vector<RowBlock>& blocks, bool mix, const auto& perRow) {
        pool.parallelFor(blocks.size() * static_cast<std::size_t>(g.nHeads), 1, [&](std::size_t a, std::size_t b) {
            RowScratch& sc = scratch(g.n);
            for (std::size_t it = a; it < b; ++it) {
                const int head = static_cast<int>(it % g.nHeads);
                const RowBlock& rb = blocks[it / g.nHeads];
                blockScores(plan, g, io.window, io.q, io.k, head, rb.begin, rb.end, sc);
                for (int row = rb.begin; row < rb.end; ++row)
                    perRow(head, rb.begin, row, rowFromBlock(plan, io.window, rb.begin, row, sc), sc);
                if (mix) valueMix(g, io, head, rb.begin, rb.end, sc);
            }
        });
    };

    // Rows that need no selection.
    if (selectFrom > io.rowBegin)
        forBlocks(visibilityBlocks(plan, io.rowBegin, selectFrom, kBlockRows), true,
                  [&](int head, int i0, int row, double l, RowScratch& sc) {
                      finishRow(plan, g, io, head, i0, row, l, nullptr, sc);
                  });
    const auto selectedRow = [&](int head, int r) {  // io.selected of the call's row r
        return io.selected + (static_cast<std::size_t>(head) * g.Q + qOffset + r) * g.P;
    };
    if (io.selected && callRows > 0)
        for (int head = 0; head < g.nHeads; ++head)
            std::fill(selectedRow(head, 0), selectedRow(head, callRows), std::uint8_t{1});
    if (!selecting) return;

    // Selective attention for the call's query rows: (A) chunk scores from the unfiltered
    // probabilities, (B) choose chunks per (head, query) or once per layer, (C) final pass with
    // the mask.
    const int Qc = callRows, P = g.P;
    const auto qBlocks = visibilityBlocks(plan, callFirst, g.n, kBlockRows);
    std::vector<float> scores(static_cast<std::size_t>(g.nHeads) * Qc * P);
    forBlocks(qBlocks, false, [&](int head, int, int row, double l, RowScratch& sc) {
        chunkScores(plan, g, sel.scoreTopN, l, sc,
                    &scores[(static_cast<std::size_t>(head) * Qc + (row - callFirst)) * P]);
    });

    std::vector<std::uint8_t> keep(static_cast<std::size_t>(g.nHeads) * Qc * P);
    selectChunks(scores.data(), g.nHeads, Qc, P, sel, keep.data());
    if (io.selected)
        for (int head = 0; head < g.nHeads; ++head)
            std::copy_n(&keep[static_cast<std::size_t>(head) * Qc * P], static_cast<std::size_t>(Qc) * P,
                        selectedRow(head, 0));

    forBlocks(qBlocks, true, [&](int head, int i0, int row, double l, RowScratch& sc) {
        finishRow(plan, g, io, head, i0, row, l, &keep[(static_cast<std::size_t>(head) * Qc + (row - callFirst)) * P],
                  sc);
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
    const double D = renormaliser(lKept, l);
    for (auto& p : probs) p = static_cast<float>(p / D);
}

}  // namespace attnscope::cpu
