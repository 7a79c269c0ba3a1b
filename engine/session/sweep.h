#pragma once
// The paper's language-modelling experiment on the user's own text: keep the last N tokens as
// the query, split the rest into P equal contiguous chunks (size ceil(L/P)), and measure mean
// query entropy and perplexity for each method at each P.
#include <functional>
#include <iterator>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "plan/method.h"

namespace attnscope {

class Session;

// Full attention sees the same tokens as the sink method ([sink | text]); with the sink taken
// from the text's start that is the text itself, as in the paper.
struct SweepOptions {
    int queryTokens = 64;
    std::vector<int> parts = {1, 2, 4, 8, 16};
    std::vector<Method> methods = {std::begin(kMethods), std::end(kMethods)};
    std::string sinkText;  // shared prefix for sink/both; empty: the first sinkTokens tokens
    int sinkTokens = 4;    // used when sinkText is empty (taken from the text's start)
    // What every method shares (methodOptions): K, the chunk score, positions, BOS (shared: one
    // BOS at the very start, part of the prefix; models trained with BOS, such as Gemma and
    // Llama, need it; the paper's runs add none) and the window rule of sliding-window layers.
    MethodSettings settings;
};

struct SweepRow {
    Method method;
    int parts = 1;
    int contextTokens = 0;
    int chunkTokens = 0;     // ceil(L/P)
    double meanEntropy = 0;  // nats, mean over layers, heads, query tokens
    double perplexity = 0;
    WindowRule windowRule = WindowRule::Physical;  // the run's; no effect without sliding-window layers
};

// The options' own errors (no text needed): query and sink token counts, the chunk counts, K.
Result<void> validateSweepOptions(const SweepOptions& options);

// Runs every (method, P) pair. Errors of the options (validateSweepOptions) and of the text
// (too short, no tokenizer, longer than the model's context allows) come before any run. `progress(done, total)` after
// each run.
Result<std::vector<SweepRow>> runSweep(Session& session, const std::string& text, const SweepOptions& options,
                                       std::stop_token stop = {}, const std::function<void(int, int)>& progress = {});

// Every row names its window rule ("window_rule").
Json sweepToJson(const std::vector<SweepRow>& rows);
std::string sweepToCsv(const std::vector<SweepRow>& rows);
std::string sweepToTable(const std::vector<SweepRow>& rows);  // human-readable, methods × P

}  // namespace attnscope
