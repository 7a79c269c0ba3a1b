#pragma once
// Host-side steps that every backend's run shares. Backends run the same stages in the same
// order, like llama.cpp's graph builders:
//   embed → for each layer: attention block, FFN block → logits and NLL of the query rows,
// with their own kernels; what happens on the host around those stages lives here once.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace attnscope {

// The rows a run computes: all tokens, or only the query rows when a previous run's encoded
// context (same EncodingPlan::contextHash) is reused. Rows [first, first + count).
struct RunRows {
    int first = 0;
    int count = 0;
};
RunRows runRows(const EncodingPlan& plan, bool reuseContext);

// The targets of the query rows' NLL: the id of the next query token, −1 for the last. [Q]
std::vector<int> nextTokenTargets(const EncodingPlan& plan);

// One row of logits: the first arg-max and the log-sum-exp (accumulated in double).
struct LogitsSummary {
    int argmax = 0;
    double logSumExp = 0;
};
LogitsSummary summarizeLogits(const float* logits, int vocab);
// out[t] = logits[t] − lse (ln softmax; out may equal logits).
void writeLogProbs(const float* logits, int vocab, double logSumExp, float* out);

// dst[p][0, count) = src[p][0, count) for `planes` rows of the given strides (in floats): the
// context tokens' entropy that a query-only rerun takes from the run it reuses.
void copyLeadingTokens(const std::vector<float>& src, std::size_t srcStride, std::vector<float>& dst,
                       std::size_t dstStride, std::size_t planes, int count);

// The non-finite guard: a NaN or an infinity is never a result. Backends call it on the
// per-row statistics, not on every activation, so it costs a pass over [heads][rows] floats per
// layer: after each layer's attention, on the entropy of the rows the run computed (a NaN in the
// residual stream, the weights or the scores shows there; so does a row that sees no key, which
// the CUDA kernels mark NaN); after the logits, on the NLL of every query row that has a next
// token (a NaN or infinite logit makes its log-sum-exp, and so its NLL, non-finite). The first
// one found is an Error{NonFinite} on `file` (the model) naming the layer, head and token.
Result<void> checkLayerFinite(const AnalysisResult& stats, int layer, RunRows rows, const std::string& file);
// `rows`: the rows the run computed (query rows before them are not checked).
Result<void> checkLogitsFinite(const AnalysisResult& stats, RunRows rows, const std::string& file);
// A decode call's log-probabilities (its row has no next token, so no NLL to check): a NaN or
// +Inf is an Error{NonFinite} naming the token.
Result<void> checkLogProbsFinite(const std::vector<float>& logProbs, int token, const std::string& file);

// A decode call's row (backend.h DecodeRow): the last query row of `stats`, with the
// log-probabilities of its logits [vocab].
DecodeRow lastQueryRow(const AnalysisResult& stats, std::vector<float> logProbs);

// Stamps the result with the backend's name and the wall time since `start`.
void stampRun(AnalysisResult& stats, const std::string& backend, std::chrono::steady_clock::time_point start);

}  // namespace attnscope
