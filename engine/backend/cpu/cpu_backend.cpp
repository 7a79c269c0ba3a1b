#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_attention.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/thread_pool.h"
#include "model/rope.h"

namespace attnscope {

namespace {



std::vector<float> toFloats(const TensorView& t) {
    std::vector<float> v(static_cast<std::size_t>(t.rows * t.cols));
    if (t.present()) dequantizeRow(t.dtype, t.data, v.data(), v.size());
    return v;
}

// What a run keeps: post-RoPE Q and K (tiles), K and V (query-only reruns), per layer.
class CpuRunState final : public RunState {
public:
    EncodingPlan plan;
    std::string contextHash;
    std::vector<std::vector<float>> q, k, v;   // [layer][N][heads*hd] / [layer][N][kv*hd]
    AnalysisResult stats;                      // the run's statistics (context rows reused)
    std::uint64_t bytes() const override {
        std::uint64_t b = 0;
        for (const auto& x : q) b += x.size() * 4;
        for (const auto& x : k) b += x.size() * 4;
        for (const auto& x : v) b += x.size() * 4;
        return b;
    }
};

struct LayerNorms {
    std::vector<float> attn, ffn, postAttn, postFfn, qNorm, kNorm;
};

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads) : pool_(threads) { cpu::setBlasThreads(1); }

    std::string name() const override {
        return std::string("cpu (") + std::to_string(pool_.size()) + " threads" + (cpu::haveBlas() ? ", " + cpu::blasName() : std::string()) + ")";
    }

    Result<void> loadWeights(std::shared_ptr<const LoadedModel> model) override {
        model_ = std::move(model);
        const auto& w = model_->weights;
        norms_.clear();
        for (const auto& L : w.layers) {
            LayerNorms n;
            n.attn = toFloats(L.attnNorm);
            n.ffn = toFloats(L.ffnNorm);
            if (L.postAttnNorm.present()) n.postAttn = toFloats(L.postAttnNorm);
            if (L.postFfnNorm.present()) n.postFfn = toFloats(L.postFfnNorm);
            if (L.qNorm.present()) n.qNorm = toFloats(L.qNorm);
            if (L.kNorm.present()) n.kNorm = toFloats(L.kNorm);
            norms_.push_back(std::move(n));
        }
        outputNorm_ = toFloats(w.outputNorm);
        return {};
    }

    Result<RunOutput> run(const RunRequest& req, std::stop_token stop, Progress* progress) override;
    Result<AttentionTile> attentionTile(const RunState& kept, const AttentionTileRequest& req,
                                        std::stop_token stop) override;

private:
    ThreadPool pool_;
    std::shared_ptr<const LoadedModel> model_;
    std::vector<LayerNorms> norms_;
    std::vector<float> outputNorm_;
};

Result<RunOutput> CpuBackend::run(const RunRequest& req, std::stop_token stop, Progress* progress) {
    if (!model_) return makeError(ErrorKind::Internal, "no model loaded in the CPU backend");
    if (!req.plan) return makeError(ErrorKind::Internal, "run request without a plan");
    const auto t0 = std::chrono::steady_clock::now();
    const EncodingPlan& plan = *req.plan;
    const ModelConfig& cfg = model_->config;
    const ModelWeights& W = model_->weights;
    ATTN_TRY(plan.validate(cfg.vocabSize));

    const int N = plan.tokenCount(), d = cfg.dim, hd = cfg.headDim, nH = cfg.nHeads, nKv = cfg.nKvHeads;
    const int qDim = nH * hd, kvDim = nKv * hd, L = cfg.nLayers, Q = plan.queryCount(), P = plan.chunkCount();
    const int qb = plan.queryBegin;

    // Reuse the encoded context when only query-side options changed.
    const CpuRunState* prev = nullptr;
    if (req.reuse) {
        const auto* s = dynamic_cast<const CpuRunState*>(req.reuse.get());
        if (s && s->contextHash == plan.contextHash() && static_cast<int>(s->k.size()) == L) prev = s;
    }
    const int r0 = prev ? qb : 0;  // first row computed
    const int R = N - r0;          // rows computed

    auto state = std::make_shared<CpuRunState>();
    state->plan = plan;
    state->contextHash = plan.contextHash();
    state->q.resize(static_cast<std::size_t>(L));
    state->k.resize(static_cast<std::size_t>(L));
    state->v.resize(static_cast<std::size_t>(L));

    AnalysisResult res = AnalysisResult::shaped(plan, L, nH);
    if (prev) {
        // Context rows' entropy is unchanged: copy it.
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < nH; ++h) {
                std::size_t off = (static_cast<std::size_t>(l) * nH + h) * N;
                std::copy(prev->stats.entropy.begin() + static_cast<std::ptrdiff_t>(off),
                          prev->stats.entropy.begin() + static_cast<std::ptrdiff_t>(off + qb), res.entropy.begin() + static_cast<std::ptrdiff_t>(off));
            }
        res.reusedContext = true;
    }

    // Embeddings of the computed rows.
    std::vector<float> x(static_cast<std::size_t>(R) * d);
    for (int i = 0; i < R; ++i) {
        const auto id = plan.ids[static_cast<std::size_t>(r0 + i)];
        dequantizeRow(W.tokenEmbedding.dtype, W.tokenEmbedding.row(id), &x[static_cast<std::size_t>(i) * d], static_cast<std::size_t>(d));
        if (cfg.embedScale != 1.0f)
            for (int j = 0; j < d; ++j) x[static_cast<std::size_t>(i) * d + j] *= cfg.embedScale;
    }

    // Rotary tables of the computed rows (global and, with sliding-window layers, local).
    const RopeTables rope(cfg, plan.positions.data() + r0, R);
    const int half = cfg.ropeDim / 2;

    std::vector<float> h(static_cast<std::size_t>(R) * d), attnOut(static_cast<std::size_t>(N) * qDim), proj(static_cast<std::size_t>(R) * d);
    const int ffnBlock = std::min(R, 256);
    std::vector<float> gate(static_cast<std::size_t>(ffnBlock) * cfg.ffnDim), up(static_cast<std::size_t>(ffnBlock) * cfg.ffnDim);

    auto normRows = [&](const float* in, const std::vector<float>& w, float* out) {
        pool_.parallelFor(static_cast<std::size_t>(R), 64, [&](std::size_t a, std::size_t b) {
            for (std::size_t i = a; i < b; ++i)
                cpu::rmsnorm(in + i * d, w.data(), out + i * d, d, cfg.normEps, cfg.normAddOne);
        });
    };

    for (int l = 0; l < L; ++l) {
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        const LayerWeights& lw = W.layers[static_cast<std::size_t>(l)];
        const LayerNorms& ln = norms_[static_cast<std::size_t>(l)];
        auto& qAll = state->q[static_cast<std::size_t>(l)];
        auto& kAll = state->k[static_cast<std::size_t>(l)];
        auto& vAll = state->v[static_cast<std::size_t>(l)];
        qAll.assign(static_cast<std::size_t>(N) * qDim, 0.0f);
        kAll.resize(static_cast<std::size_t>(N) * kvDim);
        vAll.resize(static_cast<std::size_t>(N) * kvDim);
        if (prev) {
            const auto& pq = prev->q[static_cast<std::size_t>(l)];
            std::copy(pq.begin(), pq.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(qb) * qDim), qAll.begin());
            std::copy(prev->k[static_cast<std::size_t>(l)].begin(), prev->k[static_cast<std::size_t>(l)].begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(qb) * kvDim), kAll.begin());
            std::copy(prev->v[static_cast<std::size_t>(l)].begin(), prev->v[static_cast<std::size_t>(l)].begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(qb) * kvDim), vAll.begin());
        }
        float* qRows = qAll.data() + static_cast<std::size_t>(r0) * qDim;
        float* kRows = kAll.data() + static_cast<std::size_t>(r0) * kvDim;
        float* vRows = vAll.data() + static_cast<std::size_t>(r0) * kvDim;

        // Attention block.
        normRows(x.data(), ln.attn, h.data());
        cpu::linear(pool_, h.data(), R, lw.wq, &lw.bq, qRows);
        cpu::linear(pool_, h.data(), R, lw.wk, &lw.bk, kRows);
        cpu::linear(pool_, h.data(), R, lw.wv, &lw.bv, vRows);
        const float* cs = rope.forLayer(l).data();
        pool_.parallelFor(static_cast<std::size_t>(R), 32, [&](std::size_t a, std::size_t b) {
            for (std::size_t i = a; i < b; ++i) {
                for (int hh = 0; hh < nH; ++hh) {
                    float* v = qRows + i * qDim + static_cast<std::size_t>(hh) * hd;
                    if (cfg.qkNorm) cpu::rmsnorm(v, ln.qNorm.data(), v, hd, cfg.normEps, cfg.normAddOne);
                    cpu::rope(v, cs + i * half * 2, cfg.ropeDim, cfg.ropeLayout);
                }
                for (int hh = 0; hh < nKv; ++hh) {
                    float* v = kRows + i * kvDim + static_cast<std::size_t>(hh) * hd;
                    if (cfg.qkNorm) cpu::rmsnorm(v, ln.kNorm.data(), v, hd, cfg.normEps, cfg.normAddOne);
                    cpu::rope(v, cs + i * half * 2, cfg.ropeDim, cfg.ropeLayout);
                }
            }
        });

        cpu::AttentionLayerIo io;
        io.plan = &plan;
        io.cfg = &cfg;
        io.window = cfg.slidingWindowFor(l);
        io.q = qAll.data();
        io.k = kAll.data();
        io.v = vAll.data();
        io.rowBegin = r0;
        io.out = attnOut.data();
        io.entropy = &res.entropy[static_cast<std::size_t>(l) * nH * N];
        io.chunkMass = &res.chunkMass[static_cast<std::size_t>(l) * nH * Q * P];
        io.prefixMass = &res.prefixMass[static_cast<std::size_t>(l) * nH * Q];
        io.queryMass = &res.queryMass[static_cast<std::size_t>(l) * nH * Q];
        io.selected = &res.selected[static_cast<std::size_t>(l) * nH * Q * P];
        cpu::attentionLayer(pool_, io);
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");

        cpu::linear(pool_, attnOut.data() + static_cast<std::size_t>(r0) * qDim, R, lw.wo, nullptr, proj.data());
        if (cfg.postAttnNorm) normRows(proj.data(), ln.postAttn, proj.data());
        for (std::size_t i = 0; i < proj.size(); ++i) x[i] += proj[i];

        // Gated FFN, in row blocks to bound memory.
        normRows(x.data(), ln.ffn, h.data());
        for (int b0 = 0; b0 < R; b0 += ffnBlock) {
            const int nb = std::min(ffnBlock, R - b0);
            const float* hb = h.data() + static_cast<std::size_t>(b0) * d;
            cpu::linear(pool_, hb, nb, lw.wGate, nullptr, gate.data());
            cpu::linear(pool_, hb, nb, lw.wUp, nullptr, up.data());
            const std::size_t cnt = static_cast<std::size_t>(nb) * cfg.ffnDim;
            pool_.parallelFor(cnt, 4096, [&](std::size_t a, std::size_t b) {
                for (std::size_t i = a; i < b; ++i)
                    gate[i] = (cfg.gegluTanh ? cpu::geluTanh(gate[i]) : cpu::silu(gate[i])) * up[i];
            });
            cpu::linear(pool_, gate.data(), nb, lw.wDown, nullptr, proj.data() + static_cast<std::size_t>(b0) * d);
        }
        if (cfg.postFfnNorm) normRows(proj.data(), ln.postFfn, proj.data());
        for (std::size_t i = 0; i < proj.size(); ++i) x[i] += proj[i];
        if (progress) progress->step(l + 1, L);
    }

    // Logits for query rows only: NLL of the next query token and the arg-max.
    res.nllNext.assign(static_cast<std::size_t>(Q), std::numeric_limits<float>::quiet_NaN());
    res.argmaxNext.assign(static_cast<std::size_t>(Q), -1);
    {
        const int V = cfg.vocabSize;
        std::vector<float> xn(static_cast<std::size_t>(Q) * d);
        for (int q = 0; q < Q; ++q)
            cpu::rmsnorm(&x[static_cast<std::size_t>(qb - r0 + q) * d], outputNorm_.data(), &xn[static_cast<std::size_t>(q) * d], d,
                         cfg.normEps, cfg.normAddOne);
        const int qBlock = 64;
        std::vector<float> logits(static_cast<std::size_t>(std::min(Q, qBlock)) * V);
        if (req.keepQueryLogProbs) res.queryLogProbs.assign(static_cast<std::size_t>(Q) * V, 0.0f);
        for (int q0 = 0; q0 < Q; q0 += qBlock) {
            const int nq = std::min(qBlock, Q - q0);
            cpu::linear(pool_, &xn[static_cast<std::size_t>(q0) * d], nq, W.output, nullptr, logits.data());
            for (int i = 0; i < nq; ++i) {
                const float* lg = &logits[static_cast<std::size_t>(i) * V];
                int am = 0;
                float mx = lg[0];
                for (int t = 1; t < V; ++t)
                    if (lg[t] > mx) { mx = lg[t]; am = t; }
                double z = 0;
                for (int t = 0; t < V; ++t) z += std::exp(static_cast<double>(lg[t]) - mx);
                const int q = q0 + i;
                res.argmaxNext[static_cast<std::size_t>(q)] = am;
                if (req.keepQueryLogProbs) {
                    const float lse = static_cast<float>(mx + std::log(z));
                    float* dst = &res.queryLogProbs[static_cast<std::size_t>(q) * V];
                    for (int t = 0; t < V; ++t) dst[t] = lg[t] - lse;
                }
                if (q + 1 < Q) {
                    int next = plan.ids[static_cast<std::size_t>(qb + q + 1)];
                    res.nllNext[static_cast<std::size_t>(q)] = static_cast<float>(mx + std::log(z) - lg[next]);
                }
            }
        }
    }

    res.backend = name();
    res.elapsedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    RunOutput out;
    std::vector<float> logProbs = std::move(res.queryLogProbs);  // not kept in the run state
    res.queryLogProbs.clear();
    state->stats = res;
    out.stats = std::move(res);
    out.stats.queryLogProbs = std::move(logProbs);
    if (req.keepState) out.kept = std::move(state);
    return out;
}

Result<AttentionTile> CpuBackend::attentionTile(const RunState& keptBase, const AttentionTileRequest& reqIn,
                                                std::stop_token stop) {
    const auto* kept = dynamic_cast<const CpuRunState*>(&keptBase);
    if (!kept || !model_) return makeError(ErrorKind::Internal, "attention tile asked of a run from another backend");
    const EncodingPlan& plan = kept->plan;
    const ModelConfig& cfg = model_->config;
    const int N = plan.tokenCount();
    auto prepared = prepareAttentionTile(reqIn, N, cfg.nLayers, cfg.nHeads);
    if (!prepared) return prepared.takeError();
    AttentionTile tile = std::move(*prepared);
    const AttentionTileRequest& req = tile.request;
    const int nc = req.colEnd - req.colBegin;
    if (tile.rows == 0 || tile.cols == 0) return tile;

    std::vector<int> colBin(static_cast<std::size_t>(nc));
    for (int c = 0; c < tile.cols; ++c)
        for (int j = tile.colEdges[static_cast<std::size_t>(c)]; j < tile.colEdges[static_cast<std::size_t>(c) + 1]; ++j)
            colBin[static_cast<std::size_t>(j - req.colBegin)] = c;

    const int window = cfg.slidingWindowFor(req.layer);
    const int P = plan.chunkCount(), Q = plan.queryCount(), nH = cfg.nHeads;
    const auto& q = kept->q[static_cast<std::size_t>(req.layer)];
    const auto& k = kept->k[static_cast<std::size_t>(req.layer)];
    const int h0 = req.head < 0 ? 0 : req.head, h1 = req.head < 0 ? nH : req.head + 1;
    const float headScale = 1.0f / static_cast<float>(h1 - h0);

    pool_.parallelFor(static_cast<std::size_t>(tile.rows), 1, [&](std::size_t a, std::size_t b) {
        std::vector<float> probs, rowAcc(static_cast<std::size_t>(nc));
        for (std::size_t r = a; r < b; ++r) {
            if (stop.stop_requested()) return;
            float* outRow = &tile.values[r * tile.cols];
            const int i0 = tile.rowEdges[r], i1 = tile.rowEdges[r + 1];
            for (int i = i0; i < i1; ++i) {
                std::fill(rowAcc.begin(), rowAcc.end(), 0.0f);
                for (int hh = h0; hh < h1; ++hh) {
                    const std::uint8_t* keep = nullptr;
                    if (i >= plan.queryBegin && P > 0)
                        keep = &kept->stats.selected[((static_cast<std::size_t>(req.layer) * nH + hh) * Q + (i - plan.queryBegin)) * P];
                    cpu::attentionRow(plan, cfg, window, q.data(), k.data(), hh, i, keep, probs);
                    const int jEnd = std::min(req.colEnd, i + 1);
                    for (int j = req.colBegin; j < jEnd; ++j) rowAcc[static_cast<std::size_t>(j - req.colBegin)] += probs[static_cast<std::size_t>(j)] * headScale;
                }
                for (int j = 0; j < nc; ++j) {
                    float& dst = outRow[colBin[static_cast<std::size_t>(j)]];
                    if (req.pooling == TilePooling::Max) dst = std::max(dst, rowAcc[static_cast<std::size_t>(j)]);
                    else dst += rowAcc[static_cast<std::size_t>(j)];
                }
            }
            if (req.pooling == TilePooling::Mean)
                for (int c = 0; c < tile.cols; ++c) {
                    int cells = (i1 - i0) * (tile.colEdges[static_cast<std::size_t>(c) + 1] - tile.colEdges[static_cast<std::size_t>(c)]);
                    if (cells > 0) outRow[c] /= static_cast<float>(cells);
                }
        }
    });
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
    return tile;
}

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace attnscope
