#include "backend/run_steps.h"

#include <algorithm>
#include <cmath>

namespace attnscope {

RunRows runRows(const EncodingPlan& plan, bool reuseContext) {
    RunRows r;
    r.first = reuseContext ? plan.queryBegin : 0;
    r.count = plan.tokenCount() - r.first;
    return r;
}

std::vector<int> nextTokenTargets(const EncodingPlan& plan) {
    const int Q = plan.queryCount();
    std::vector<int> t(static_cast<std::size_t>(std::max(Q, 0)), -1);
    for (int q = 0; q + 1 < Q; ++q)
        t[static_cast<std::size_t>(q)] = plan.ids[static_cast<std::size_t>(plan.queryBegin + q + 1)];
    return t;
}

LogitsSummary summarizeLogits(const float* lg, int vocab) {
    LogitsSummary s;
    float mx = lg[0];
    for (int t = 1; t < vocab; ++t)
        if (lg[t] > mx) {
            mx = lg[t];
            s.argmax = t;
        }
    double z = 0;
    for (int t = 0; t < vocab; ++t) z += std::exp(static_cast<double>(lg[t]) - mx);
    s.logSumExp = mx + std::log(z);
    return s;
}

void writeLogProbs(const float* logits, int vocab, double logSumExp, float* out) {
    const auto lse = static_cast<float>(logSumExp);
    for (int t = 0; t < vocab; ++t) out[t] = logits[t] - lse;
}

void copyLeadingTokens(const std::vector<float>& src, std::size_t srcStride, std::vector<float>& dst,
                       std::size_t dstStride, std::size_t planes, int count) {
    for (std::size_t p = 0; p < planes; ++p)
        std::copy_n(src.begin() + static_cast<std::ptrdiff_t>(p * srcStride), count,
                    dst.begin() + static_cast<std::ptrdiff_t>(p * dstStride));
}

namespace {

std::string valueName(float v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

Error nonFinite(const std::string& what, const std::string& file) {
    return makeError(ErrorKind::NonFinite,
                     what +
                         ": the model's numbers are not finite (damaged weights, or a tensor stored in "
                         "another type than its tag says)",
                     file);
}

}  // namespace

Result<void> checkLayerFinite(const AnalysisResult& stats, int layer, RunRows rows, const std::string& file) {
    const auto N = static_cast<std::size_t>(stats.tokens);
    for (int h = 0; h < stats.heads; ++h) {
        const float* row = &stats.entropy[(static_cast<std::size_t>(layer) * stats.heads + h) * N];
        for (int i = rows.first; i < rows.first + rows.count; ++i)
            if (!std::isfinite(row[i]))
                return nonFinite("layer " + std::to_string(layer) + " of " + std::to_string(stats.layers) +
                                     ": the attention entropy is " + valueName(row[i]) + " at head " +
                                     std::to_string(h) + ", token " + std::to_string(i),
                                 file);
    }
    return {};
}

Result<void> checkLogitsFinite(const AnalysisResult& stats, RunRows rows, const std::string& file) {
    const auto first = static_cast<std::size_t>(std::max(0, rows.first - stats.queryBegin));
    for (std::size_t q = first; q + 1 < stats.nllNext.size(); ++q)
        if (!std::isfinite(stats.nllNext[q]))
            return nonFinite("the logits after the last layer (" + std::to_string(stats.layers - 1) +
                                 ") give an NLL of " + valueName(stats.nllNext[q]) + " at query token " +
                                 std::to_string(q) + " (token " + std::to_string(stats.queryBegin + q) + ")",
                             file);
    return {};
}

Result<void> checkLogProbsFinite(const std::vector<float>& logProbs, int token, const std::string& file) {
    for (float lp : logProbs)
        if (std::isnan(lp) || lp > 0.0f)
            return nonFinite("the logits of token " + std::to_string(token) + " give a log-probability of " +
                                 (std::isnan(lp) ? std::string("NaN") : std::to_string(lp)),
                             file);
    return {};
}

DecodeRow lastQueryRow(const AnalysisResult& r, std::vector<float> logProbs) {
    DecodeRow row;
    const int L = r.layers, H = r.heads, P = r.chunks, Q = r.queries(), q = Q - 1;
    row.layers = L;
    row.heads = H;
    row.chunks = P;
    row.token = r.tokens - 1;
    for (int l = 0; l < L; ++l)
        for (int h = 0; h < H; ++h) {
            const std::size_t hq = (static_cast<std::size_t>(l) * H + h) * Q + q;
            row.entropy.push_back(r.entropyAt(l, h, row.token));
            row.prefixMass.push_back(r.prefixMass[hq]);
            row.queryMass.push_back(r.queryMass[hq]);
            for (int c = 0; c < P; ++c) {
                row.chunkMass.push_back(r.chunkMass[hq * P + c]);
                row.selected.push_back(r.selected[hq * P + c]);
            }
        }
    row.logProbs = std::move(logProbs);
    return row;
}

void stampRun(AnalysisResult& stats, const std::string& backend, std::chrono::steady_clock::time_point start) {
    stats.backend = backend;
    stats.elapsedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace attnscope
