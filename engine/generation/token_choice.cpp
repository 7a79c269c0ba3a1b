#include "generation/token_choice.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnscope {

std::vector<TokenLogProb> topLogProbs(const std::vector<float>& logProbs, int n) {
    std::vector<TokenLogProb> top;
    auto better = [](const TokenLogProb& a, const TokenLogProb& b) {
        return a.logProb > b.logProb || (a.logProb == b.logProb && a.id < b.id);
    };
    for (std::size_t t = 0; t < logProbs.size(); ++t) {
        const TokenLogProb c{static_cast<std::int32_t>(t), logProbs[t]};
        if (static_cast<int>(top.size()) == n && !better(c, top.back())) continue;
        top.insert(std::upper_bound(top.begin(), top.end(), c, better), c);
        if (static_cast<int>(top.size()) > n) top.pop_back();
    }
    return top;
}

namespace {

// A uniform double in [0, 1) from the top 53 bits: the same on every platform.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Candidate ids, most probable first: the top-k (k <= 0: every token).
std::vector<std::int32_t> candidates(const std::vector<float>& logProbs, int topK) {
    std::vector<std::int32_t> ids(logProbs.size());
    std::iota(ids.begin(), ids.end(), 0);
    auto better = [&](std::int32_t a, std::int32_t b) {
        const float la = logProbs[static_cast<std::size_t>(a)], lb = logProbs[static_cast<std::size_t>(b)];
        return la > lb || (la == lb && a < b);
    };
    const std::size_t k = topK > 0 ? std::min<std::size_t>(static_cast<std::size_t>(topK), ids.size()) : ids.size();
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), better);
    ids.resize(k);
    return ids;
}

}  // namespace

std::int32_t chooseToken(const std::vector<float>& logProbs, const SamplingOptions& o, std::mt19937_64& rng) {
    if (o.greedy())
        return static_cast<std::int32_t>(std::max_element(logProbs.begin(), logProbs.end()) - logProbs.begin());
    const std::vector<std::int32_t> ids = candidates(logProbs, o.topK);
    // Tempered weights relative to the best candidate, then the top-p cut on their normalised mass.
    std::vector<double> w(ids.size());
    const double best = logProbs[static_cast<std::size_t>(ids.front())];
    for (std::size_t i = 0; i < ids.size(); ++i)
        w[i] = std::exp((logProbs[static_cast<std::size_t>(ids[i])] - best) / o.temperature);
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    std::size_t keep = 0;
    for (double mass = 0; keep < w.size() && (keep == 0 || mass < o.topP * total); ++keep) mass += w[keep];
    const double kept = std::accumulate(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
    double u = uniform01(rng) * kept;
    for (std::size_t i = 0; i < keep; ++i) {
        if (u < w[i]) return ids[i];
        u -= w[i];
    }
    return ids[keep - 1];
}

}  // namespace attnscope
