#pragma once
// A generation as JSON (the CLI's `generate` output):
//   {"method", "options", "backend", "generated_ids": [...], "text", "stop_reason",
//    "prompt_entropy", "call_mean_entropy", "prompt_ms", "ms_per_token",
//    "tokens": [{"id", "piece", "logprob", "top": [{"id", "piece", "logprob"}], "entropy",
//                "layer_entropy": [layer], "chunk_mass": [layer][chunk],
//                "selected_chunks": [layer][kept chunk ids]}],
//    "correct" (only when answers are given: SubEM, answer_match.h)}
// Log-probabilities are ln p; entropies nats (the token's "entropy" is the mean over layers and
// heads, "layer_entropy" the mean over heads); chunk masses are means over heads.
#include <string>
#include <vector>

#include "core/json.h"
#include "generation/generation.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

Json generationToJson(const GenerationResult& r, const std::string& method, const Tokenizer* tok,
                      const std::vector<std::string>& answers);

}  // namespace attnscope
