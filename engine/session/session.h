#pragma once
// The engine façade used by the CLI and the GUI worker: one model, one tokenizer, one backend,
// a result cache keyed by plan hash, and reuse of the encoded context for query-side toggles.
// Not thread-safe: use a Session from one thread at a time (the GUI's engine thread).
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "analysis/analysis_result.h"
#include "analysis/attention_tile.h"
#include "backend/backend.h"
#include "core/error.h"
#include "generation/generation.h"
#include "model/loaded_model.h"
#include "plan/context_spec.h"
#include "plan/encoding_plan.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

struct SessionOptions {
    int threads = 0;                // CPU threads; 0 = all cores
    std::string device = "auto";    // auto | cpu | NAME | NAME:N of a backend plugin (backend_registry.h)
    std::size_t cacheEntries = 32;  // results kept for instant toggling back
};

class ResultCache;

class Session {
public:
    // Loads the model and its tokenizer and prepares the backend. `log` receives one-line
    // notices (e.g. "CUDA unavailable: …; using the CPU", "tokenizer unavailable: …"). A backend
    // named in options.device that fails to take the weights is an error; under "auto" the
    // session logs it and continues on the CPU. A stop requested on `stop` ends the open between
    // tensors and between its steps with a Cancelled error naming the model.
    static Result<std::unique_ptr<Session>> open(const std::string& modelPath, const SessionOptions& options = {},
                                                 std::function<void(const std::string&)> log = {},
                                                 std::stop_token stop = {});
    ~Session();

    const LoadedModel& model() const { return *model_; }
    std::shared_ptr<const LoadedModel> modelPtr() const { return model_; }
    // The model's tokenizer, or null when it has none we can use (an HF folder without
    // tokenizer.model, an unsupported vocabulary): the session still opens, since contexts given
    // as token ids need none. Every user checks: plan() rejects text parts with an error naming
    // the model, runSweep() (which tokenises a text) fails the same way, and displays fall back
    // to the ids. tokenizerError() says why there is none (empty when there is one).
    const Tokenizer* tokenizer() const { return tokenizer_.get(); }
    std::shared_ptr<const Tokenizer> tokenizerPtr() const { return tokenizer_; }
    const std::string& tokenizerError() const { return tokenizerError_; }
    std::string backendName() const { return backend_->name(); }

    // The plan of a context for this model: its tokenizer, vocabulary and context length (every
    // rotary position below it). Errors of the tokenizer name the model's file.
    Result<EncodingPlan> plan(const ContextSpec& spec, const EncodingOptions& options) const;
    // Text through the tokenizer as plan() tokenises a part (encodePart): bounded by the context
    // length, an error naming the model when there is no tokenizer.
    Result<std::vector<std::int32_t>> encode(const std::string& text, const char* what = "text") const;

    // Runs (or returns from cache) the analysis of a plan. Reuses a cached run with the same
    // context hash when only selective-attention options changed. When the device was "auto" and
    // a GPU backend fails (out of memory, a kernel error) the session logs it and continues on
    // the CPU backend; a device asked for by name never falls back: its error is returned.
    Result<std::shared_ptr<const RunOutput>> analyze(const EncodingPlan& plan, std::stop_token stop = {},
                                                     Progress* progress = nullptr);
    // Runs one request as given, outside the cache (benchmarks, parity tests): keepState, reuse
    // and keepQueryLogProbs are honoured. A GPU failure falls back to the CPU as analyze does
    // (device "auto" only); the rerun is then a full run (a kept state of the failed backend
    // cannot be reused).
    Result<RunOutput> run(const RunRequest& request, std::stop_token stop = {}, Progress* progress = nullptr);
    // Generation after the plan's query on this session's backend (generation/generation.h),
    // outside the cache. Empty options.stopIds mean the model's (stopTokenIds: EOS and its
    // end-of-turn tokens).
    Result<GenerationResult> generate(const EncodingPlan& plan, GenerationOptions options, std::stop_token stop = {},
                                      const TokenCallback& onToken = {});
    Result<AttentionTile> tile(const RunOutput& run, const AttentionTileRequest& request, std::stop_token stop = {});

    void clearCache();

private:
    Session() = default;
    bool onCpu() const;
    // The model's tokenizer (or why there is none) and the plan limits it sets; only a stop on
    // `stop` is an error.
    Result<void> openTokenizer(std::stop_token stop);
    // Logs `notice` and continues on a fresh CPU backend; the cache is emptied, its kept states
    // belonging to the old backend.
    Result<void> switchToCpu(const std::string& notice);

    std::shared_ptr<const LoadedModel> model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    std::string tokenizerError_;
    PlanModel planModel_;  // the tokenizer, vocabulary and limits every plan is built with
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<ResultCache> cache_;
    std::function<void(const std::string&)> log_;
    int threads_ = 0;
    bool mayFallBack_ = false;  // device "auto": a failing GPU backend gives way to the CPU
};

}  // namespace attnscope
