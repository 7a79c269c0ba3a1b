#pragma once
// EncodingPlan: the tokens laid out physically as [prefix | chunk_1 | ... | chunk_P | query],
// the segment of every token, its rotary position id, and the visibility rule (PAPER.md).
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

    // Ids inside the vocabulary, a query, and a valid layout. Every backend run calls it.
    Result<void> validate(int vocabSize) const;
    // The layout [prefix | chunk 0 | ... | chunk P-1 | query], consistent across segment, chunk
    // and chunkRanges; an Internal error names what is not.
    Result<void> validateLayout() const;
};

// Builds the plan. Text parts are tokenised with `tok` (each part on its own, no BOS unless the
// BOS policy asks); id parts are used as given. Errors: empty query, ids out of vocabulary,
// too many tokens (> maxTokens).
Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const Tokenizer* tok,
                               int vocabSize, int maxTokens = 1 << 20);

}  // namespace attnscope
