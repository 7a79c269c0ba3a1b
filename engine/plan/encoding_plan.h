#pragma once
// EncodingPlan: the tokens laid out physically as [prefix | chunk_1 | ... | chunk_P | query],
// the segment of every token, its rotary position id, and the visibility rule (PAPER.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "plan/context_spec.h"
#include "plan/encoding_options.h"

namespace attnscope {

class Tokenizer;

enum class SegmentKind : std::uint8_t { Prefix, Chunk, Query };
const char* toString(SegmentKind k);  // "prefix" | "chunk" | "query"

struct KeyRange {
    int begin = 0, end = 0;
};  // [begin, end) in physical token order

struct EncodingPlan {
    EncodingOptions options;
    // Per token, physical order; all vectors have size tokenCount().
    std::vector<std::int32_t> ids;
    std::vector<SegmentKind> segment;
    std::vector<std::int32_t> chunk;      // chunk index for chunk tokens, -1 otherwise
    std::vector<std::int32_t> positions;  // rotary position ids

    int prefixLength = 0;               // S (includes a shared BOS)
    std::vector<KeyRange> chunkRanges;  // one per chunk
    int queryBegin = 0;                 // first query token; query = [queryBegin, N)

    int tokenCount() const { return static_cast<int>(ids.size()); }
    int chunkCount() const { return static_cast<int>(chunkRanges.size()); }
    int queryCount() const { return tokenCount() - queryBegin; }

    // Visibility before selective attention and without a sliding window (the rule lives in
    // plan/visibility.h): may token i attend to key j? Which keys does it see, as sorted
    // disjoint ranges?
    bool visible(int i, int j) const;
    void visibleRanges(int i, std::vector<KeyRange>& out) const;

    // Stable 128-bit hash (hex) of everything that affects a run: ids, segments, positions and
    // options. `contextHash` leaves out the query-side options (selective attention), so runs that
    // differ only in those can share the encoded context.
    std::string hash() const;
    std::string contextHash() const;

    // Ids inside the vocabulary, at least one chunk, a query, and a valid layout. Every backend
    // run calls it.
    Result<void> validate(int vocabSize) const;
    // The layout [prefix | chunk 0 | ... | chunk P-1 | query], consistent across segment, chunk
    // and chunkRanges; an Internal error names what is not.
    Result<void> validateLayout() const;
};

// What building a plan needs to know of the model, and the limits it checks.
struct PlanModel {
    const Tokenizer* tokenizer = nullptr;  // null: every part must be given as token ids
    std::string tokenizerFile;             // names the errors of the tokenizer (the model's path)
    std::string noTokenizerReason;         // why there is no tokenizer, when there is none
    int bosId = -1;                        // the tokenizer's (-1: none)
    std::string noBosReason;               // why there is no BOS (default: "the tokenizer has none")
    int vocabSize = 0;
    int maxTokens = 1 << 20;  // tokens in the whole plan
    // The model's context length: every rotary position must lie below it (0: not checked). In
    // parallel mode the positions of the chunks overlap, so the plan may hold more tokens.
    int contextLength = 0;
    // Bytes of text one part may hold, checked before it is tokenised (0: not checked): a part
    // longer than this has more tokens than the context length allows (Session sets it from the
    // tokenizer's longest piece).
    std::size_t maxPartBytes = 0;
};

// One text part through the model's tokenizer, checked against maxPartBytes first; `what`
// ("chunk", "query", "text") names the part in errors. No tokenizer is an error naming the
// model; the tokenizer's own errors name its file.
Result<std::vector<std::int32_t>> encodePart(const PlanModel& model, const std::string& text, const char* what);

// Builds the plan. Text parts are tokenised with the tokenizer (each part on its own, no BOS
// unless the BOS policy asks, one after the other, stopping at the first over a limit); id parts
// are used as given. Errors: no chunk, an empty chunk or query, ids out of vocabulary, too many
// tokens, a position beyond the context length; tokenizer errors name the tokenizer's file.
Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const PlanModel& model);
// Generation: `id` becomes one more query token (PAPER.md, "Generation"). It sees the prefix,
// every chunk and all earlier query tokens, and its position continues the query's: S + M + t
// for the t-th query token (t counts the generated tokens too), N when positions are sequential.
void appendQueryToken(EncodingPlan& plan, std::int32_t id);

// The same with only a tokenizer (its BOS; id 1 without one), a vocabulary size and a token
// limit (tests).
Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const Tokenizer* tok,
                               int vocabSize, int maxTokens = 1 << 20);

}  // namespace attnscope
