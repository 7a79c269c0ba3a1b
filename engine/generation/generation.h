#pragma once
// Generation after the query under the plan's method (PAPER.md, "Generation"): one prompt call
// (a run of the plan), then one decode call per generated token on the backend's Decoder
// (backend.h). Every generated token is one more query token: it sees the prefix, every chunk
// and all earlier query and generated tokens, and its position continues S + M + t. Selective
// attention chooses once for the prompt call and once per generated token, at every layer.
//
// GenerationResult is an immutable value like AnalysisResult. Units: log-probabilities are
// natural logs (ln p) of the model's softmax at temperature 1, whatever the sampling
// temperature; entropies are in nats. Index order in brackets; arrays dense and row-major.
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "backend/backend.h"
#include "core/error.h"
#include "model/loaded_model.h"
#include "plan/encoding_plan.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

// How the next token is chosen from a row's log-probabilities. Greedy (the paper's decoding)
// when temperature <= 0; otherwise p ∝ exp(ln p / T) over the top-k tokens (k <= 0: all),
// then the smallest set of most probable tokens whose mass reaches top-p, drawn with a
// 64-bit Mersenne Twister seeded by `seed` (the same seed gives the same tokens everywhere).
struct SamplingOptions {
    double temperature = 0;
    int topK = 0;
    double topP = 1.0;
    std::uint64_t seed = 0;
    bool greedy() const { return temperature <= 0; }
};

struct GenerationOptions {
    int maxNewTokens = 20;                 // PAPER.md: 20 for QA and ICL
    std::vector<std::string> stopStrings;  // stop once the generated text contains one (may span tokens)
    SamplingOptions sampling;
    // Ids that end the generation when chosen (EOS and the model's end-of-turn tokens,
    // stopTokenIds below); they are not added to the output.
    std::vector<std::int32_t> stopIds;
};

// The ids that end a generation for a model: its EOS, the end-of-turn ids its file declares,
// and control tokens spelled as a known end of turn ("<end_of_turn>", "<|eot_id|>",
// "<|im_end|>", "<|end|>", "<|eom_id|>"), as llama.cpp also treats them.
std::vector<std::int32_t> stopTokenIds(const TokenizerSpec& spec);

struct TokenLogProb {
    std::int32_t id = 0;
    float logProb = 0;  // ln p
};

// One generated token and the statistics of its own row: the decode call that appended it,
// whose attention is that of this token over everything before it (so analyze on the prompt
// plus the generated tokens gives the same entropy at this token).
struct GeneratedToken {
    std::int32_t id = 0;
    std::string piece;              // display text of the token (Tokenizer::tokenText); "" without a tokenizer
    float logProb = 0;              // ln p of this token given everything before it
    std::vector<TokenLogProb> top;  // the 5 most probable tokens at that step, most probable first
    int layers = 0, heads = 0, chunks = 0;
    std::vector<float> entropy;          // [layer][head] attention entropy of this token's row, nats
    std::vector<float> chunkMass;        // [layer][head][chunk] share of its attention on each chunk
    std::vector<float> prefixMass;       // [layer][head] share on the sink prefix
    std::vector<float> queryMass;        // [layer][head] share on query and generated tokens
    std::vector<std::uint8_t> selected;  // [layer][head][chunk] 1 = chunk kept by selective attention
    double elapsedMs = 0;                // wall time of its decode call

    double meanEntropy() const;                         // over layers and heads
    double layerEntropy(int layer) const;               // over heads
    double layerChunkMass(int layer, int chunk) const;  // over heads
    // Chunks kept at `layer` by at least one head, ascending (with heads-queries aggregation
    // every head keeps the same ones).
    std::vector<int> selectedChunks(int layer) const;
};

enum class StopReason { MaxTokens, EndOfSequence, StopString };
const char* toString(StopReason r);  // "max-tokens" | "eos" | "stop-string"

struct GenerationResult {
    EncodingPlan plan;                   // the prompt's plan (generated tokens not included)
    AnalysisResult prompt;               // statistics of the prompt call
    std::vector<GeneratedToken> tokens;  // in generation order
    std::vector<std::int32_t> ids() const;
    std::string text;  // the generated tokens decoded, cut before a stop string
    StopReason stop = StopReason::MaxTokens;
    std::int32_t stopId = -1;  // the EOS / end-of-turn id chosen (EndOfSequence)
    std::string stopString;    // the stop string found (StopString)
    double promptMs = 0;       // the prompt call
    double decodeMs = 0;       // every decode call together
    std::string backend;

    double msPerToken() const { return tokens.empty() ? 0 : decodeMs / static_cast<double>(tokens.size()); }
    // The paper's number for these tasks: the entropy averaged per forward call, the prompt call
    // (its mean query entropy) counting as one entry and each generated token as one.
    double callMeanEntropy() const;
};

// Called after each generated token (streaming); never from two threads at once.
using TokenCallback = std::function<void(const GeneratedToken&)>;

// Runs the prompt call of `plan` on `backend`, then decodes. `tokenizer` may be null (ids-only
// contexts): pieces and text stay empty and stop strings are an InvalidInput error. Returns
// Error{Cancelled} soon after a stop is requested.
Result<GenerationResult> generate(Backend& backend, const Tokenizer* tokenizer, const EncodingPlan& plan,
                                  const GenerationOptions& options, std::stop_token stop = {},
                                  const TokenCallback& onToken = {});

// The options' own checks (a CLI or GUI reports them before loading a model).
Result<void> validateGenerationOptions(const GenerationOptions& options);

}  // namespace attnscope
