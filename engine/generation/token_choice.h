#pragma once
// Choosing the next token from one row's log-probabilities (greedy or sampled), and the most
// probable alternatives the generation records.
#include <cstdint>
#include <random>
#include <vector>

#include "generation/generation.h"

namespace attnscope {

// The `n` most probable tokens of `logProbs` [vocab], most probable first (ties: lower id first).
std::vector<TokenLogProb> topLogProbs(const std::vector<float>& logProbs, int n);

// The next token: the first arg-max when greedy, else a draw from `rng` as SamplingOptions says.
std::int32_t chooseToken(const std::vector<float>& logProbs, const SamplingOptions& options, std::mt19937_64& rng);

}  // namespace attnscope
