#pragma once
// The compute backend interface: plan in, statistics out. The CPU backend is the reference;
// other backends (CUDA) are plugins loaded at run time (backend_registry.h).
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>

#include "analysis/analysis_result.h"
#include "analysis/attention_tile.h"
#include "core/error.h"
#include "model/loaded_model.h"
#include "plan/encoding_plan.h"

namespace attnscope {

// Opaque per-run state a backend keeps so that tiles can be recomputed and query-side toggles
// can rerun only the query pass (post-RoPE Q and K, V per layer, selection masks).
class RunState {
public:
    virtual ~RunState() = default;
    virtual std::uint64_t bytes() const = 0;
};

struct RunOutput {
    AnalysisResult stats;
    std::shared_ptr<const RunState> kept;  // null when keepState was false
};

struct RunRequest {
    const EncodingPlan* plan = nullptr;
    bool keepState = true;
    // A previous run's state whose plan has the same contextHash(): only the query pass is
    // recomputed (the backend checks compatibility and falls back to a full run if not).
    std::shared_ptr<const RunState> reuse;
    // Also return the full log-softmax of every query token's logits (AnalysisResult::
    // queryLogProbs, queries × vocab floats). Off by default: a 262K vocabulary makes it 1 MB
    // per query token. Used by parity tests; backends that do not offer it leave it empty.
    bool keepQueryLogProbs = false;
};

// Layer-granular progress; called from the backend's thread.
class Progress {
public:
    virtual ~Progress() = default;
    virtual void step(int done, int total) = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;  // "cpu (2 threads)", "cuda:0 (H200)"
    // Once per model: prepare weights (views into mapped files, dequantisation, upload).
    virtual Result<void> loadWeights(std::shared_ptr<const LoadedModel> model) = 0;
    // Forward pass over the whole plan; statistics computed online. Returns
    // Error{Cancelled} soon (within one layer) after a stop is requested.
    virtual Result<RunOutput> run(const RunRequest& request, std::stop_token stop, Progress* progress) = 0;
    // Pooled attention probabilities from kept state.
    virtual Result<AttentionTile> attentionTile(const RunState& kept, const AttentionTileRequest& request,
                                                std::stop_token stop) = 0;
    virtual std::uint64_t freeMemoryBytes() const { return 0; }
};

}  // namespace attnscope
