#pragma once
// The compute backend interface: plan in, statistics out. The CPU backend is the reference;
// other backends (CUDA) are plugins loaded at run time (backend_registry.h).
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

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

// The statistics of one decode call: the row of one appended query token, in the meaning of a
// query row of AnalysisResult (attention after selective attention, which this call chose for
// its own row), with the query index dropped. All arrays dense, row-major in bracket order.
struct DecodeRow {
    int layers = 0, heads = 0, chunks = 0;
    int token = 0;                       // physical index of the row (the plan's last token)
    std::vector<float> entropy;          // [layer][head] attention entropy, nats
    std::vector<float> chunkMass;        // [layer][head][chunk] share of attention on each chunk
    std::vector<float> prefixMass;       // [layer][head] share on the sink prefix
    std::vector<float> queryMass;        // [layer][head] share on query and generated tokens
    std::vector<std::uint8_t> selected;  // [layer][head][chunk] 1 = kept by selective attention
    std::vector<float> logProbs;         // [vocab] ln softmax of this row's logits: the next token's
};

// Incremental decoding after a run (PAPER.md, "Generation"): each append() makes `token` one more
// query token of the plan (appendQueryToken), computes its row only, against the kept K/V of
// every earlier token, and keeps its K/V for the next call. One call is one forward call of the
// paper: selective attention chooses its chunks for this row alone.
class Decoder {
public:
    virtual ~Decoder() = default;
    virtual Result<DecodeRow> append(std::int32_t token, std::stop_token stop) = 0;
    virtual const EncodingPlan& plan() const = 0;  // the prompt's plan plus every appended token
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
    // A decoder that continues the run of `plan` whose kept state is `prompt` (a run of this
    // backend with keepState), with room for `maxNewTokens` appended tokens. It is valid while
    // the backend keeps the weights it had. Backends without decoding answer Error{Unsupported}.
    virtual Result<std::unique_ptr<Decoder>> startDecoding(const EncodingPlan& plan,
                                                           std::shared_ptr<const RunState> prompt, int maxNewTokens) {
        (void)plan;
        (void)prompt;
        (void)maxNewTokens;
        // An Error built in place (no engine symbol): plugins built without the engine use it.
        return Error{ErrorKind::Unsupported, {}, {}, "the " + name() + " backend does not generate"};
    }
};

}  // namespace attnscope
