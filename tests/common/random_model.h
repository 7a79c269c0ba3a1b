#pragma once
// In-memory models with random weights (fixed seed) for backend tests, and a deliberately naive
// dense reference forward pass (N×N mask and probabilities, direct −Σ p ln p) to check the
// backends' online statistics against.
#include <cstdint>
#include <memory>
#include <vector>

#include "model/loaded_model.h"
#include "plan/context_spec.h"
#include "plan/encoding_plan.h"

namespace attnscope::test {

// Random F32 weights for `cfg` (std 0.02·scale for matrices, norms around 1).
std::shared_ptr<LoadedModel> makeRandomModel(const ModelConfig& cfg, std::uint32_t seed, float scale = 1.0f);

struct NaiveResult {
    std::vector<float> entropy;       // [layer][head][token]
    std::vector<float> chunkMass;     // [layer][head][q][chunk]
    std::vector<std::uint8_t> selected;  // [layer][head][q][chunk]
    std::vector<float> nllNext;       // [q]
    std::vector<int> argmaxNext;      // [q]
    std::vector<std::vector<float>> probs;  // [layer*heads + head] → N×N row-major, final probabilities
    // How near each discrete choice came to a tie, for tests that must not fail on one (see
    // NearTies in tests/cuda/test_cuda_backend.cpp). selectionMargin [layer][head][q]: the K-th
    // best chunk score minus the (K+1)-th (+inf where selection changes nothing);
    // argmaxMargin [q]: the largest logit minus the second largest.
    std::vector<double> selectionMargin;
    std::vector<double> argmaxMargin;
};

// A context of random token ids in [3, vocab): prefix, chunks of the given lengths, query.
ContextSpec randomContext(std::uint32_t seed, int prefix, const std::vector<int>& chunkLens, int query, int vocab);

NaiveResult naiveForward(const LoadedModel& model, const EncodingPlan& plan);

}  // namespace attnscope::test
