// The CPU backend (cpu_backend.h). A run goes through the stages every backend shares
// (backend/run_steps.h): embed → for each layer: attention block, FFN block → logits and NLL of
// the query rows. CpuRun holds one run's buffers and performs those stages; CpuBackend owns
// the weights, the threads and the attention tiles.
#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_attention.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/run_steps.h"
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
    std::vector<std::vector<float>> q, k, v;  // [layer][N][heads*hd] / [layer][N][kv*hd]
    AnalysisResult stats;                     // the run's statistics (context rows reused)
    std::uint64_t bytes() const override {
        std::uint64_t b = 0;
        for (const auto* layers : {&q, &k, &v})
            for (const auto& x : *layers) b += x.size() * 4;
        return b;
    }
};

// The norm weights of one layer as float (the matrices stay in their file type).
struct LayerNorms {
    std::vector<float> attn, ffn, postAttn, postFfn, qNorm, kNorm;
};

LayerNorms layerNorms(const LayerWeights& L) {
    LayerNorms n;
    n.attn = toFloats(L.attnNorm);
    n.ffn = toFloats(L.ffnNorm);
    if (L.postAttnNorm.present()) n.postAttn = toFloats(L.postAttnNorm);
    if (L.postFfnNorm.present()) n.postFfn = toFloats(L.postFfnNorm);
    if (L.qNorm.present()) n.qNorm = toFloats(L.qNorm);
    if (L.kNorm.present()) n.kNorm = toFloats(L.kNorm);
    return n;
}

// One run's stages over the rows it computes (all tokens, or the query rows when the context
// is reused), on the residual stream x [R][d].
class CpuRun {
public:
    // `state` holds the K/V (and Q) of rows [0, rows.first) already: a reused context's, or a
    // decoder's every earlier token; this run appends its rows. `reused`: the statistics of the
    // run whose context is reused (its context rows' entropy is copied), or null.
    CpuRun(ThreadPool& pool, const LoadedModel& model, const std::vector<LayerNorms>& norms,
           const std::vector<float>& outputNorm, const EncodingPlan& plan, std::shared_ptr<CpuRunState> state,
           RunRows rows, const AnalysisResult* reused);

    void embed();
    void attentionBlock(int layer);
    void ffnBlock(int layer);
    void logitsAndNll(bool keepLogProbs);
    RunOutput finish(const std::string& backend, std::chrono::steady_clock::time_point start, bool keepState);
    DecodeRow decodeRow();  // a decode call's one row (after logitsAndNll(true))
    const AnalysisResult& stats() const { return res_; }
    RunRows rows() const { return rows_; }

private:
    void growRows(int layer);    // the state's Q/K/V of this layer sized for every token
    void projectQkv(int layer);  // norm, Q/K/V projections, QK-norm, rotary embedding
    void attention(int layer);
    void normRows(const float* in, const std::vector<float>& w, float* out);
    void addResidual(const std::vector<float>& delta);
    float* rowsOf(std::vector<float>& all, int stride) const {
        return all.data() + static_cast<std::size_t>(rows_.first) * stride;
    }

    ThreadPool& pool_;
    const ModelConfig& cfg_;
    const ModelWeights& w_;
    const std::vector<LayerNorms>& norms_;
    const std::vector<float>& outputNorm_;
    const EncodingPlan& plan_;
    const RunRows rows_;
    const int firstQuery_;  // the first query row this run computes (its logits), as a query index
    const int d_, qDim_, kvDim_;
    const RopeTables rope_;
    std::shared_ptr<CpuRunState> state_;
    AnalysisResult res_;
    const int ffnRows_;  // the FFN runs in blocks of rows to bound its memory
    std::vector<float> x_, h_, attnOut_, proj_, gate_, up_;
    std::vector<float> queryLogProbs_;  // [computed query rows][vocab] when asked for; never kept
};

CpuRun::CpuRun(ThreadPool& pool, const LoadedModel& model, const std::vector<LayerNorms>& norms,
               const std::vector<float>& outputNorm, const EncodingPlan& plan, std::shared_ptr<CpuRunState> state,
               RunRows rows, const AnalysisResult* reused)
    : pool_(pool),
      cfg_(model.config),
      w_(model.weights),
      norms_(norms),
      outputNorm_(outputNorm),
      plan_(plan),
      rows_(rows),
      firstQuery_(std::max(0, rows.first - plan.queryBegin)),
      d_(cfg_.dim),
      qDim_(cfg_.nHeads * cfg_.headDim),
      kvDim_(cfg_.nKvHeads * cfg_.headDim),
      rope_(cfg_, plan.positions.data() + rows_.first, rows_.count),
      state_(std::move(state)),
      res_(AnalysisResult::shaped(plan, cfg_.nLayers, cfg_.nHeads)),
      ffnRows_(std::min(rows_.count, 256)) {
    const auto L = static_cast<std::size_t>(cfg_.nLayers);
    const auto R = static_cast<std::size_t>(rows_.count), N = static_cast<std::size_t>(plan.tokenCount());
    state_->q.resize(L);
    state_->k.resize(L);
    state_->v.resize(L);
    if (reused) {  // the context rows' entropy is unchanged
        copyLeadingTokens(reused->entropy, N, res_.entropy, N, L * cfg_.nHeads, plan.queryBegin);
        res_.reusedContext = true;
    }
    x_.resize(R * d_);
    h_.resize(R * d_);
    attnOut_.resize(N * qDim_);
    proj_.resize(R * d_);
    gate_.resize(static_cast<std::size_t>(ffnRows_) * cfg_.ffnDim);
    up_.resize(gate_.size());
}

void CpuRun::normRows(const float* in, const std::vector<float>& w, float* out) {
    pool_.parallelFor(static_cast<std::size_t>(rows_.count), 64, [&](std::size_t a, std::size_t b) {
        for (std::size_t i = a; i < b; ++i)
            cpu::rmsnorm(in + i * d_, w.data(), out + i * d_, d_, cfg_.normEps, cfg_.normAddOne);
    });
}

void CpuRun::addResidual(const std::vector<float>& delta) {
    for (std::size_t i = 0; i < delta.size(); ++i) x_[i] += delta[i];
}

void CpuRun::embed() {
    for (int i = 0; i < rows_.count; ++i) {
        const auto id = plan_.ids[static_cast<std::size_t>(rows_.first + i)];
        float* row = &x_[static_cast<std::size_t>(i) * d_];
        dequantizeRow(w_.tokenEmbedding.dtype, w_.tokenEmbedding.row(id), row, static_cast<std::size_t>(d_));
        if (cfg_.embedScale != 1.0f)
            for (int j = 0; j < d_; ++j) row[j] *= cfg_.embedScale;
    }
}

void CpuRun::growRows(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const auto N = static_cast<std::size_t>(plan_.tokenCount());
    state_->q[l].resize(N * qDim_);
    state_->k[l].resize(N * kvDim_);
    state_->v[l].resize(N * kvDim_);
}

void CpuRun::projectQkv(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const LayerWeights& lw = w_.layers[l];
    const LayerNorms& ln = norms_[l];
    float* qRows = rowsOf(state_->q[l], qDim_);
    float* kRows = rowsOf(state_->k[l], kvDim_);
    float* vRows = rowsOf(state_->v[l], kvDim_);
    normRows(x_.data(), ln.attn, h_.data());
    cpu::linear(pool_, h_.data(), rows_.count, lw.wq, &lw.bq, qRows);
    cpu::linear(pool_, h_.data(), rows_.count, lw.wk, &lw.bk, kRows);
    cpu::linear(pool_, h_.data(), rows_.count, lw.wv, &lw.bv, vRows);
    const float* cs = rope_.forLayer(cfg_, layer).data();
    const int hd = cfg_.headDim, half = cfg_.ropeDim / 2;
    // QK-norm (gemma3) and the rotary embedding of every head of one row.
    auto rotate = [&](float* row, int heads, const std::vector<float>& norm, const float* rowCs) {
        for (int hh = 0; hh < heads; ++hh) {
            float* v = row + static_cast<std::size_t>(hh) * hd;
            if (cfg_.qkNorm) cpu::rmsnorm(v, norm.data(), v, hd, cfg_.normEps, cfg_.normAddOne);
            cpu::rope(v, rowCs, cfg_.ropeDim, cfg_.ropeLayout);
        }
    };
    pool_.parallelFor(static_cast<std::size_t>(rows_.count), 32, [&](std::size_t a, std::size_t b) {
        for (std::size_t i = a; i < b; ++i) {
            rotate(qRows + i * qDim_, cfg_.nHeads, ln.qNorm, cs + i * half * 2);
            rotate(kRows + i * kvDim_, cfg_.nKvHeads, ln.kNorm, cs + i * half * 2);
        }
    });
}

void CpuRun::attention(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const std::size_t nH = static_cast<std::size_t>(cfg_.nHeads), N = static_cast<std::size_t>(plan_.tokenCount());
    const std::size_t Q = static_cast<std::size_t>(plan_.queryCount()),
                      P = static_cast<std::size_t>(plan_.chunkCount());
    cpu::AttentionLayerIo io;
    io.plan = &plan_;
    io.cfg = &cfg_;
    io.window = cfg_.slidingWindowFor(layer);
    io.q = state_->q[l].data();
    io.k = state_->k[l].data();
    io.v = state_->v[l].data();
    io.rowBegin = rows_.first;
    io.out = attnOut_.data();
    io.entropy = &res_.entropy[l * nH * N];
    io.chunkMass = &res_.chunkMass[l * nH * Q * P];
    io.prefixMass = &res_.prefixMass[l * nH * Q];
    io.queryMass = &res_.queryMass[l * nH * Q];
    io.selected = &res_.selected[l * nH * Q * P];
    cpu::attentionLayer(pool_, io);
}

void CpuRun::attentionBlock(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    growRows(layer);
    projectQkv(layer);
    attention(layer);
    cpu::linear(pool_, rowsOf(attnOut_, qDim_), rows_.count, w_.layers[l].wo, nullptr, proj_.data());
    if (cfg_.postAttnNorm) normRows(proj_.data(), norms_[l].postAttn, proj_.data());
    addResidual(proj_);
}

void CpuRun::ffnBlock(int layer) {
    const auto l = static_cast<std::size_t>(layer);
    const LayerWeights& lw = w_.layers[l];
    const int R = rows_.count;
    normRows(x_.data(), norms_[l].ffn, h_.data());
    for (int b0 = 0; b0 < R; b0 += ffnRows_) {
        const int nb = std::min(ffnRows_, R - b0);
        const float* hb = h_.data() + static_cast<std::size_t>(b0) * d_;
        cpu::linear(pool_, hb, nb, lw.wGate, nullptr, gate_.data());
        cpu::linear(pool_, hb, nb, lw.wUp, nullptr, up_.data());
        pool_.parallelFor(static_cast<std::size_t>(nb) * cfg_.ffnDim, 4096, [&](std::size_t a, std::size_t b) {
            for (std::size_t i = a; i < b; ++i)
                gate_[i] = (cfg_.gegluTanh ? cpu::geluTanh(gate_[i]) : cpu::silu(gate_[i])) * up_[i];
        });
        cpu::linear(pool_, gate_.data(), nb, lw.wDown, nullptr, proj_.data() + static_cast<std::size_t>(b0) * d_);
    }
    if (cfg_.postFfnNorm) normRows(proj_.data(), norms_[l].postFfn, proj_.data());
    addResidual(proj_);
}

void CpuRun::logitsAndNll(bool keepLogProbs) {
    const int Q = plan_.queryCount(), V = cfg_.vocabSize, qBlock = 64, q0 = firstQuery_, nRows = Q - q0;
    const std::vector<int> targets = nextTokenTargets(plan_);
    res_.nllNext.assign(static_cast<std::size_t>(Q), std::numeric_limits<float>::quiet_NaN());
    res_.argmaxNext.assign(static_cast<std::size_t>(Q), -1);
    if (keepLogProbs) queryLogProbs_.assign(static_cast<std::size_t>(nRows) * V, 0.0f);
    std::vector<float> xn(static_cast<std::size_t>(nRows) * d_),
        logits(static_cast<std::size_t>(std::min(nRows, qBlock)) * V);
    for (int r = 0; r < nRows; ++r)
        cpu::rmsnorm(&x_[static_cast<std::size_t>(plan_.queryBegin + q0 + r - rows_.first) * d_], outputNorm_.data(),
                     &xn[static_cast<std::size_t>(r) * d_], d_, cfg_.normEps, cfg_.normAddOne);
    for (int r0 = 0; r0 < nRows; r0 += qBlock) {
        const int nr = std::min(qBlock, nRows - r0);
        cpu::linear(pool_, &xn[static_cast<std::size_t>(r0) * d_], nr, w_.output, nullptr, logits.data());
        for (int i = 0; i < nr; ++i) {
            const auto r = static_cast<std::size_t>(r0 + i), q = r + static_cast<std::size_t>(q0);
            const float* lg = &logits[static_cast<std::size_t>(i) * V];
            const LogitsSummary s = summarizeLogits(lg, V);
            res_.argmaxNext[q] = s.argmax;
            if (keepLogProbs) writeLogProbs(lg, V, s.logSumExp, &queryLogProbs_[r * V]);
            if (targets[q] >= 0) res_.nllNext[q] = static_cast<float>(s.logSumExp - lg[targets[q]]);
        }
    }
}

DecodeRow CpuRun::decodeRow() {
    const auto V = static_cast<std::ptrdiff_t>(cfg_.vocabSize);
    return lastQueryRow(res_, std::vector<float>(queryLogProbs_.end() - V, queryLogProbs_.end()));
}

RunOutput CpuRun::finish(const std::string& backend, std::chrono::steady_clock::time_point start, bool keepState) {
    stampRun(res_, backend, start);
    state_->stats = res_;
    RunOutput out;
    out.stats = std::move(res_);
    out.stats.queryLogProbs = std::move(queryLogProbs_);
    if (keepState) out.kept = std::move(state_);
    return out;
}

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads) : pool_(threads) { cpu::setBlasThreads(1); }

    std::string name() const override {
        return std::string("cpu (") + std::to_string(pool_.size()) + " threads" +
               (cpu::haveBlas() ? ", " + cpu::blasName() : std::string()) + ")";
    }

    Result<void> loadWeights(std::shared_ptr<const LoadedModel> model) override {
        model_ = std::move(model);
        norms_.clear();
        for (const auto& L : model_->weights.layers) norms_.push_back(layerNorms(L));
        outputNorm_ = toFloats(model_->weights.outputNorm);
        return {};
    }

    Result<RunOutput> run(const RunRequest& req, std::stop_token stop, Progress* progress) override;
    Result<AttentionTile> attentionTile(const RunState& kept, const AttentionTileRequest& req,
                                        std::stop_token stop) override;
    Result<std::unique_ptr<Decoder>> startDecoding(const EncodingPlan& plan, std::shared_ptr<const RunState> prompt,
                                                   int maxNewTokens) override;
    // One decode call on a decoder's own state: `token` appended, its row computed.
    Result<DecodeRow> decodeStep(const std::shared_ptr<CpuRunState>& state, std::int32_t token, std::stop_token stop);

private:
    // Embed, then every layer's attention and FFN blocks over the run's rows.
    Result<void> runLayers(CpuRun& run, std::stop_token stop, Progress* progress);
    // The previous run whose encoded context this request may reuse, or null.
    const CpuRunState* reusable(const RunRequest& req, const std::string& contextHash) const {
        const auto* s = dynamic_cast<const CpuRunState*>(req.reuse.get());
        const bool same = s && s->contextHash == contextHash && static_cast<int>(s->k.size()) == model_->config.nLayers;
        return same ? s : nullptr;
    }
    // Row i of a tile, summed over its heads into rowAcc (keys [colBegin, colEnd)).
    void tileRow(const CpuRunState& kept, const AttentionTileRequest& req, int i, std::vector<float>& probs,
                 std::vector<float>& rowAcc) const;

    ThreadPool pool_;
    std::shared_ptr<const LoadedModel> model_;
    std::vector<LayerNorms> norms_;
    std::vector<float> outputNorm_;
};

// The context rows [0, queryBegin) of a run's kept Q/K/V, as the start of a new run's state.
std::shared_ptr<CpuRunState> contextStateOf(const CpuRunState& reuse, int queryBegin) {
    auto st = std::make_shared<CpuRunState>();
    auto leading = [&](const std::vector<std::vector<float>>& from, std::vector<std::vector<float>>& to) {
        for (const auto& layer : from) {
            const std::size_t n = layer.size() / static_cast<std::size_t>(reuse.plan.tokenCount()) * queryBegin;
            to.emplace_back(layer.begin(), layer.begin() + static_cast<std::ptrdiff_t>(n));
        }
    };
    leading(reuse.q, st->q);
    leading(reuse.k, st->k);
    leading(reuse.v, st->v);
    return st;
}

Result<void> CpuBackend::runLayers(CpuRun& run, std::stop_token stop, Progress* progress) {
    const int L = model_->config.nLayers;
    run.embed();
    for (int l = 0; l < L; ++l) {
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        run.attentionBlock(l);
        ATTN_TRY(checkLayerFinite(run.stats(), l, run.rows(), model_->path));
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        run.ffnBlock(l);
        if (progress) progress->step(l + 1, L);
    }
    return {};
}

Result<RunOutput> CpuBackend::run(const RunRequest& req, std::stop_token stop, Progress* progress) {
    if (!model_) return makeError(ErrorKind::Internal, "no model loaded in the CPU backend");
    if (!req.plan) return makeError(ErrorKind::Internal, "run request without a plan");
    const auto start = std::chrono::steady_clock::now();
    ATTN_TRY(req.plan->validate(model_->config.vocabSize));
    std::string contextHash = req.plan->contextHash();
    const CpuRunState* reuse = reusable(req, contextHash);
    auto state = reuse ? contextStateOf(*reuse, req.plan->queryBegin) : std::make_shared<CpuRunState>();
    state->plan = *req.plan;
    state->contextHash = std::move(contextHash);
    CpuRun run(pool_, *model_, norms_, outputNorm_, *req.plan, state, runRows(*req.plan, reuse != nullptr),
               reuse ? &reuse->stats : nullptr);
    ATTN_TRY(runLayers(run, stop, progress));
    run.logitsAndNll(req.keepQueryLogProbs);
    ATTN_TRY(checkLogitsFinite(run.stats(), run.rows(), model_->path));
    return run.finish(name(), start, req.keepState);
}

// A generation on the CPU: its own copy of the prompt run's Q/K/V, grown by one row per call
// (capacity reserved up front, so a call copies nothing). Valid while the backend keeps the
// weights it had when the decoder started.
class CpuDecoder final : public Decoder {
public:
    CpuDecoder(CpuBackend& backend, std::shared_ptr<CpuRunState> state) : backend_(backend), state_(std::move(state)) {}
    Result<DecodeRow> append(std::int32_t token, std::stop_token stop) override {
        if (failed_) return makeError(ErrorKind::Internal, "decoding continued after a failed step");
        auto row = backend_.decodeStep(state_, token, stop);
        failed_ = !row;  // a step that stopped half-way leaves the state unusable
        return row;
    }
    const EncodingPlan& plan() const override { return state_->plan; }

private:
    CpuBackend& backend_;
    std::shared_ptr<CpuRunState> state_;
    bool failed_ = false;
};

Result<std::unique_ptr<Decoder>> CpuBackend::startDecoding(const EncodingPlan& plan,
                                                           std::shared_ptr<const RunState> prompt, int maxNewTokens) {
    const auto* kept = dynamic_cast<const CpuRunState*>(prompt.get());
    if (!kept || !model_ || static_cast<int>(kept->k.size()) != model_->config.nLayers)
        return makeError(ErrorKind::Internal, "decoding asked to continue a run of another backend");
    if (kept->plan.hash() != plan.hash())
        return makeError(ErrorKind::Internal, "decoding asked to continue a run of another plan");
    auto state = std::make_shared<CpuRunState>();
    state->plan = kept->plan;
    state->contextHash = kept->contextHash;
    const std::size_t rows = static_cast<std::size_t>(kept->plan.tokenCount()) + std::max(0, maxNewTokens);
    const int qDim = model_->config.nHeads * model_->config.headDim,
              kvDim = model_->config.nKvHeads * model_->config.headDim;
    auto copyReserved = [&](const std::vector<std::vector<float>>& from, std::vector<std::vector<float>>& to, int w) {
        for (const auto& layer : from) {
            to.emplace_back();
            to.back().reserve(rows * static_cast<std::size_t>(w));
            to.back().assign(layer.begin(), layer.end());
        }
    };
    copyReserved(kept->q, state->q, qDim);
    copyReserved(kept->k, state->k, kvDim);
    copyReserved(kept->v, state->v, kvDim);
    return std::unique_ptr<Decoder>(std::make_unique<CpuDecoder>(*this, std::move(state)));
}

Result<DecodeRow> CpuBackend::decodeStep(const std::shared_ptr<CpuRunState>& state, std::int32_t token,
                                         std::stop_token stop) {
    if (token < 0 || token >= model_->config.vocabSize)
        return makeError(ErrorKind::InvalidInput, "token id " + std::to_string(token) + " is outside the vocabulary");
    appendQueryToken(state->plan, token);
    const int N = state->plan.tokenCount();
    CpuRun run(pool_, *model_, norms_, outputNorm_, state->plan, state, RunRows{N - 1, 1}, nullptr);
    ATTN_TRY(runLayers(run, stop, nullptr));
    run.logitsAndNll(true);
    DecodeRow row = run.decodeRow();
    ATTN_TRY(checkLogProbsFinite(row.logProbs, N - 1, model_->path));
    return row;
}

void CpuBackend::tileRow(const CpuRunState& kept, const AttentionTileRequest& req, int i, std::vector<float>& probs,
                         std::vector<float>& rowAcc) const {
    const EncodingPlan& plan = kept.plan;
    const ModelConfig& cfg = model_->config;
    const int P = plan.chunkCount(), Q = plan.queryCount(), nH = cfg.nHeads;
    const int h0 = req.head < 0 ? 0 : req.head, h1 = req.head < 0 ? nH : req.head + 1;
    const float headScale = 1.0f / static_cast<float>(h1 - h0);
    const auto l = static_cast<std::size_t>(req.layer);
    std::fill(rowAcc.begin(), rowAcc.end(), 0.0f);
    for (int hh = h0; hh < h1; ++hh) {
        const std::uint8_t* keep = nullptr;
        if (i >= plan.queryBegin && P > 0) keep = &kept.stats.selected[((l * nH + hh) * Q + (i - plan.queryBegin)) * P];
        cpu::attentionRow(plan, cfg, cfg.slidingWindowFor(req.layer), kept.q[l].data(), kept.k[l].data(), hh, i, keep,
                          probs);
        const int jEnd = std::min(req.colEnd, i + 1);
        for (int j = req.colBegin; j < jEnd; ++j)
            rowAcc[static_cast<std::size_t>(j - req.colBegin)] += probs[static_cast<std::size_t>(j)] * headScale;
    }
}

Result<AttentionTile> CpuBackend::attentionTile(const RunState& keptBase, const AttentionTileRequest& reqIn,
                                                std::stop_token stop) {
    const auto* kept = dynamic_cast<const CpuRunState*>(&keptBase);
    if (!kept || !model_) return makeError(ErrorKind::Internal, "attention tile asked of a run from another backend");
    auto prepared = prepareAttentionTile(reqIn, kept->plan.tokenCount(), model_->config.nLayers, model_->config.nHeads);
    if (!prepared) return prepared.takeError();
    AttentionTile tile = std::move(*prepared);
    const AttentionTileRequest& req = tile.request;
    const int nc = req.colEnd - req.colBegin;
    if (tile.rows == 0 || tile.cols == 0) return tile;

    std::vector<int> colBin(static_cast<std::size_t>(nc));
    for (int c = 0; c < tile.cols; ++c)
        for (int j = tile.colEdges[static_cast<std::size_t>(c)]; j < tile.colEdges[static_cast<std::size_t>(c) + 1];
             ++j)
            colBin[static_cast<std::size_t>(j - req.colBegin)] = c;
    pool_.parallelFor(static_cast<std::size_t>(tile.rows), 1, [&](std::size_t a, std::size_t b) {
        std::vector<float> probs, rowAcc(static_cast<std::size_t>(nc));
        for (std::size_t r = a; r < b && !stop.stop_requested(); ++r) {
            float* outRow = &tile.values[r * tile.cols];
            for (int i = tile.rowEdges[r]; i < tile.rowEdges[r + 1]; ++i) {
                tileRow(*kept, req, i, probs, rowAcc);
                for (int j = 0; j < nc; ++j) {
                    float& dst = outRow[colBin[static_cast<std::size_t>(j)]];
                    const float v = rowAcc[static_cast<std::size_t>(j)];
                    dst = req.pooling == TilePooling::Max ? std::max(dst, v) : dst + v;
                }
            }
        }
    });
    if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
    if (req.pooling == TilePooling::Mean) divideBinsByCellCount(tile);
    return tile;
}

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace attnscope
