#include "common/random_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace attnscope::test {

namespace {

TensorView makeTensor(LoadedModel& m, const std::string& name, std::int64_t rows, std::int64_t cols, std::mt19937& rng,
                      float stdv, float mean = 0.0f) {
    auto buf = std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(rows * cols) * 4);
    std::normal_distribution<float> dist(mean, stdv);
    auto* f = reinterpret_cast<float*>(buf->data());
    for (std::int64_t i = 0; i < rows * cols; ++i) f[i] = dist(rng);
    m.buffers.push_back(buf);
    TensorView t;
    t.name = name;
    t.dtype = DType::F32;
    t.rows = rows;
    t.cols = cols;
    t.data = buf->data();
    t.bytes = buf->size();
    return t;
}

const float* F(const TensorView& t) { return reinterpret_cast<const float*>(t.data); }

void matvec(const TensorView& w, const float* x, float* y, const TensorView* b = nullptr) {
    for (std::int64_t r = 0; r < w.rows; ++r) {
        double s = 0;
        for (std::int64_t c = 0; c < w.cols; ++c) s += static_cast<double>(F(w)[r * w.cols + c]) * x[c];
        if (b && b->present()) s += F(*b)[r];
        y[r] = static_cast<float>(s);
    }
}

void norm(const float* x, const TensorView& w, float* y, int n, float eps, bool addOne) {
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    double sc = 1.0 / std::sqrt(ss / n + eps);
    for (int i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * sc * (addOne ? 1.0 + F(w)[i] : F(w)[i]));
}

void ropeNaive(float* v, int pos, const ModelConfig& c, float theta) {
    const int half = c.ropeDim / 2;
    for (int k = 0; k < half; ++k) {
        double f = std::pow(static_cast<double>(theta), -2.0 * k / c.ropeDim);
        double a = pos * f, cs = std::cos(a), sn = std::sin(a);
        int i0 = c.ropeLayout == RopeLayout::AdjacentPairs ? 2 * k : k;
        int i1 = c.ropeLayout == RopeLayout::AdjacentPairs ? 2 * k + 1 : k + half;
        double x0 = v[i0], x1 = v[i1];
        v[i0] = static_cast<float>(x0 * cs - x1 * sn);
        v[i1] = static_cast<float>(x0 * sn + x1 * cs);
    }
}

}  // namespace

std::shared_ptr<LoadedModel> makeRandomModel(const ModelConfig& cfg, std::uint32_t seed, float scale) {
    auto m = std::make_shared<LoadedModel>();
    m->path = "random";
    m->format = "memory";
    m->config = cfg;
    std::mt19937 rng(seed);
    const float s = 0.02f * scale * 10;  // larger than init so attention is not uniform
    auto& W = m->weights;
    W.tokenEmbedding = makeTensor(*m, "tok", cfg.vocabSize, cfg.dim, rng, 1.0f);
    W.outputNorm = makeTensor(*m, "onorm", 1, cfg.dim, rng, 0.1f, cfg.normAddOne ? 0.0f : 1.0f);
    W.output = cfg.tiedOutput ? W.tokenEmbedding : makeTensor(*m, "out", cfg.vocabSize, cfg.dim, rng, s);
    const int qd = cfg.nHeads * cfg.headDim, kd = cfg.nKvHeads * cfg.headDim;
    for (int l = 0; l < cfg.nLayers; ++l) {
        LayerWeights L;
        float nm = cfg.normAddOne ? 0.0f : 1.0f;
        L.attnNorm = makeTensor(*m, "an", 1, cfg.dim, rng, 0.1f, nm);
        L.wq = makeTensor(*m, "wq", qd, cfg.dim, rng, s);
        L.wk = makeTensor(*m, "wk", kd, cfg.dim, rng, s);
        L.wv = makeTensor(*m, "wv", kd, cfg.dim, rng, s);
        L.wo = makeTensor(*m, "wo", cfg.dim, qd, rng, s);
        if (cfg.qkvBias) {
            L.bq = makeTensor(*m, "bq", 1, qd, rng, s);
            L.bk = makeTensor(*m, "bk", 1, kd, rng, s);
            L.bv = makeTensor(*m, "bv", 1, kd, rng, s);
        }
        if (cfg.qkNorm) {
            L.qNorm = makeTensor(*m, "qn", 1, cfg.headDim, rng, 0.1f, nm);
            L.kNorm = makeTensor(*m, "kn", 1, cfg.headDim, rng, 0.1f, nm);
        }
        if (cfg.postAttnNorm) L.postAttnNorm = makeTensor(*m, "pan", 1, cfg.dim, rng, 0.1f, nm);
        if (cfg.postFfnNorm) L.postFfnNorm = makeTensor(*m, "pfn", 1, cfg.dim, rng, 0.1f, nm);
        L.ffnNorm = makeTensor(*m, "fn", 1, cfg.dim, rng, 0.1f, nm);
        L.wGate = makeTensor(*m, "wg", cfg.ffnDim, cfg.dim, rng, s);
        L.wUp = makeTensor(*m, "wu", cfg.ffnDim, cfg.dim, rng, s);
        L.wDown = makeTensor(*m, "wd", cfg.dim, cfg.ffnDim, rng, s);
        W.layers.push_back(L);
    }
    return m;
}

ContextSpec randomContext(std::uint32_t seed, int prefix, const std::vector<int>& chunkLens, int query, int vocab) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> id(3, vocab - 1);
    auto draw = [&](int n) {
        std::vector<std::int32_t> v;
        for (int i = 0; i < n; ++i) v.push_back(id(rng));
        return v;
    };
    ContextSpec s;
    s.prefixIds = draw(prefix);
    std::vector<std::vector<std::int32_t>> ch;
    for (int n : chunkLens) ch.push_back(draw(n));
    s.chunkIds = ch;
    s.queryIds = draw(query);
    return s;
}

NaiveResult naiveForward(const LoadedModel& model, const EncodingPlan& plan) {
    const ModelConfig& c = model.config;
    const auto& W = model.weights;
    const int N = plan.tokenCount(), d = c.dim, hd = c.headDim, H = c.nHeads, KV = c.nKvHeads;
    const int Q = plan.queryCount(), P = plan.chunkCount(), qb = plan.queryBegin;
    NaiveResult R;
    R.entropy.assign(static_cast<std::size_t>(c.nLayers) * H * N, 0);
    R.chunkMass.assign(static_cast<std::size_t>(c.nLayers) * H * Q * P, 0);
    R.selected.assign(static_cast<std::size_t>(c.nLayers) * H * Q * P, 1);
    R.selectionMargin.assign(static_cast<std::size_t>(c.nLayers) * H * Q, std::numeric_limits<double>::infinity());
    std::vector<std::vector<float>> x(static_cast<std::size_t>(N), std::vector<float>(static_cast<std::size_t>(d)));
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < d; ++j) x[i][j] = F(W.tokenEmbedding)[static_cast<std::size_t>(plan.ids[i]) * d + j] * c.embedScale;

    for (int l = 0; l < c.nLayers; ++l) {
        const auto& L = W.layers[static_cast<std::size_t>(l)];
        const bool local = !c.layerIsLocal.empty() && c.layerIsLocal[static_cast<std::size_t>(l)];
        const float theta = local ? c.ropeThetaLocal : c.ropeTheta;
        std::vector<std::vector<float>> q(N, std::vector<float>(H * hd)), k(N, std::vector<float>(KV * hd)),
            v(N, std::vector<float>(KV * hd));
        std::vector<float> h(d);
        for (int i = 0; i < N; ++i) {
            norm(x[i].data(), L.attnNorm, h.data(), d, c.normEps, c.normAddOne);
            matvec(L.wq, h.data(), q[i].data(), &L.bq);
            matvec(L.wk, h.data(), k[i].data(), &L.bk);
            matvec(L.wv, h.data(), v[i].data(), &L.bv);
            for (int hh = 0; hh < H; ++hh) {
                if (c.qkNorm) norm(&q[i][hh * hd], L.qNorm, &q[i][hh * hd], hd, c.normEps, c.normAddOne);
                ropeNaive(&q[i][hh * hd], plan.positions[i], c, theta);
            }
            for (int hh = 0; hh < KV; ++hh) {
                if (c.qkNorm) norm(&k[i][hh * hd], L.kNorm, &k[i][hh * hd], hd, c.normEps, c.normAddOne);
                ropeNaive(&k[i][hh * hd], plan.positions[i], c, theta);
            }
        }
        // Dense probabilities with an explicit mask.
        std::vector<std::vector<double>> prob(static_cast<std::size_t>(H), std::vector<double>(static_cast<std::size_t>(N) * N, 0.0));
        for (int hh = 0; hh < H; ++hh) {
            const int kv = hh / (H / KV);
            for (int i = 0; i < N; ++i) {
                std::vector<double> s(N, -std::numeric_limits<double>::infinity());
                double mx = -std::numeric_limits<double>::infinity();
                for (int j = 0; j < N; ++j) {
                    bool vis = plan.visible(i, j);
                    if (local && c.slidingWindow > 0 && i - j >= c.slidingWindow) vis = false;
                    if (!vis) continue;
                    double dot = 0;
                    for (int e = 0; e < hd; ++e) dot += static_cast<double>(q[i][hh * hd + e]) * k[j][kv * hd + e];
                    s[j] = dot * c.attentionScale();
                    mx = std::max(mx, s[j]);
                }
                double z = 0;
                for (int j = 0; j < N; ++j) z += std::isinf(s[j]) ? 0 : std::exp(s[j] - mx);
                for (int j = 0; j < N; ++j) prob[hh][static_cast<std::size_t>(i) * N + j] = std::isinf(s[j]) ? 0 : std::exp(s[j] - mx) / z;
            }
        }
        // Selective attention, literally as PAPER.md states it.
        const auto& sel = plan.options.selective;
        if (sel.enabled() && P > sel.topK) {
            std::vector<double> score(static_cast<std::size_t>(H) * Q * P);
            for (int hh = 0; hh < H; ++hh)
                for (int qi = 0; qi < Q; ++qi)
                    for (int m = 0; m < P; ++m) {
                        std::vector<double> ps;
                        for (int j = plan.chunkRanges[m].begin; j < plan.chunkRanges[m].end; ++j)
                            ps.push_back(prob[hh][static_cast<std::size_t>(qb + qi) * N + j]);
                        std::sort(ps.rbegin(), ps.rend());
                        double s = 0;
                        if (sel.scoreTopN <= 0) s = std::accumulate(ps.begin(), ps.end(), 0.0) / ps.size();
                        else for (int t = 0; t < std::min<int>(sel.scoreTopN, ps.size()); ++t) s += ps[t];
                        score[(static_cast<std::size_t>(hh) * Q + qi) * P + m] = s;
                    }
            double margin = 0;  // of the last topk() call
            auto topk = [&](const std::vector<double>& sc) {
                std::vector<int> idx(P);
                std::iota(idx.begin(), idx.end(), 0);
                std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return sc[a] > sc[b]; });
                std::vector<std::uint8_t> keep(P, 0);
                for (int t = 0; t < sel.topK; ++t) keep[idx[t]] = 1;
                margin = sc[idx[sel.topK - 1]] - sc[idx[sel.topK]];
                return keep;
            };
            std::vector<std::uint8_t> layerKeep;
            if (sel.aggregation == SelectAggregation::HeadsQueries) {
                std::vector<double> ls(P);
                for (int m = 0; m < P; ++m) {
                    std::vector<double> all;
                    for (int hq = 0; hq < H * Q; ++hq) all.push_back(score[static_cast<std::size_t>(hq) * P + m]);
                    std::sort(all.rbegin(), all.rend());
                    for (int t = 0; t < std::min<int>(5, all.size()); ++t) ls[m] += all[t];
                }
                layerKeep = topk(ls);
            }
            for (int hh = 0; hh < H; ++hh)
                for (int qi = 0; qi < Q; ++qi) {
                    std::vector<std::uint8_t> keep = layerKeep;
                    if (keep.empty())
                        keep = topk(std::vector<double>(score.begin() + (static_cast<std::ptrdiff_t>(hh) * Q + qi) * P,
                                                        score.begin() + (static_cast<std::ptrdiff_t>(hh) * Q + qi + 1) * P));
                    double sum = 0;
                    double* row = &prob[hh][static_cast<std::size_t>(qb + qi) * N];
                    for (int j = 0; j < N; ++j) {
                        if (plan.chunk[j] >= 0 && !keep[plan.chunk[j]]) row[j] = 0;
                        sum += row[j];
                    }
                    for (int j = 0; j < N; ++j) row[j] /= std::max(sum, 1e-5);
                    for (int m = 0; m < P; ++m) R.selected[((static_cast<std::size_t>(l) * H + hh) * Q + qi) * P + m] = keep[m];
                    R.selectionMargin[(static_cast<std::size_t>(l) * H + hh) * Q + qi] = margin;
                }
        }
        // Statistics and the value mix.
        std::vector<std::vector<float>> att(N, std::vector<float>(H * hd, 0.0f));
        for (int hh = 0; hh < H; ++hh) {
            const int kv = hh / (H / KV);
            R.probs.emplace_back(prob[hh].begin(), prob[hh].end());
            for (int i = 0; i < N; ++i) {
                double ent = 0;
                for (int j = 0; j < N; ++j) {
                    double p = prob[hh][static_cast<std::size_t>(i) * N + j];
                    if (p > 0) ent -= p * std::log(p);
                    for (int e = 0; e < hd; ++e) att[i][hh * hd + e] += static_cast<float>(p * v[j][kv * hd + e]);
                    if (i >= qb && plan.chunk[j] >= 0)
                        R.chunkMass[((static_cast<std::size_t>(l) * H + hh) * Q + (i - qb)) * P + plan.chunk[j]] += static_cast<float>(p);
                }
                R.entropy[(static_cast<std::size_t>(l) * H + hh) * N + i] = static_cast<float>(ent);
            }
        }
        std::vector<float> o(d), g(c.ffnDim), u(c.ffnDim);
        for (int i = 0; i < N; ++i) {
            matvec(L.wo, att[i].data(), o.data());
            if (c.postAttnNorm) norm(o.data(), L.postAttnNorm, o.data(), d, c.normEps, c.normAddOne);
            for (int j = 0; j < d; ++j) x[i][j] += o[j];
            norm(x[i].data(), L.ffnNorm, h.data(), d, c.normEps, c.normAddOne);
            matvec(L.wGate, h.data(), g.data());
            matvec(L.wUp, h.data(), u.data());
            for (int j = 0; j < c.ffnDim; ++j) {
                double a = g[j];
                double act = c.gegluTanh ? 0.5 * a * (1 + std::tanh(0.7978845608028654 * (a + 0.044715 * a * a * a)))
                                         : a / (1 + std::exp(-a));
                g[j] = static_cast<float>(act * u[j]);
            }
            matvec(L.wDown, g.data(), o.data());
            if (c.postFfnNorm) norm(o.data(), L.postFfnNorm, o.data(), d, c.normEps, c.normAddOne);
            for (int j = 0; j < d; ++j) x[i][j] += o[j];
        }
    }
    std::vector<float> h(d), logits(c.vocabSize);
    for (int qi = 0; qi < Q; ++qi) {
        norm(x[qb + qi].data(), W.outputNorm, h.data(), d, c.normEps, c.normAddOne);
        matvec(W.output, h.data(), logits.data());
        int am = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        double mx = logits[am], z = 0;
        for (float lg : logits) z += std::exp(lg - mx);
        R.argmaxNext.push_back(am);
        float second = -std::numeric_limits<float>::infinity();
        for (int t = 0; t < c.vocabSize; ++t)
            if (t != am) second = std::max(second, logits[static_cast<std::size_t>(t)]);
        R.argmaxMargin.push_back(static_cast<double>(logits[static_cast<std::size_t>(am)]) - second);
        R.nllNext.push_back(qi + 1 < Q ? static_cast<float>(mx + std::log(z) - logits[plan.ids[qb + qi + 1]])
                                       : std::numeric_limits<float>::quiet_NaN());
    }
    return R;
}

}  // namespace attnscope::test
