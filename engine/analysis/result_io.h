#pragma once
// JSON/CSV writers for analysis results (no Qt; the CLI and the GUI export share them).
#include <string>

#include "analysis/analysis_result.h"
#include "core/json.h"
#include "plan/encoding_plan.h"

namespace attnscope {

class Tokenizer;

// The `attnscope-cli analyze` document: positions, tokens, query_entropy[layer][head][q],
// query_nll_next[q], query_argmax_next[q], layer_entropy[layer], mean_entropy, perplexity,
// context_entropy[layer][token], chunk_mass[layer][head][q][chunk], selected_chunks, options.
// The options a plan was made with: mode, sink, positions, bos, select_top_k, select_score_top_n,
// select_aggregation, window_rule (the same object in analyze's and generate's output).
Json optionsToJson(const EncodingPlan& plan);
Json analysisToJson(const EncodingPlan& plan, const AnalysisResult& r, const Tokenizer* tok);
// Long-format CSV: layer,head,token,segment,chunk,position,entropy (one row per triple).
std::string entropyToCsv(const EncodingPlan& plan, const AnalysisResult& r);

}  // namespace attnscope
