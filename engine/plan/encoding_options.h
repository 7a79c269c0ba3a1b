#pragma once
// The paper's knobs (../shared PAPER.md): every mode is data in the plan, never a kernel branch.
#include <string>

#include "core/error.h"

namespace attnscope {

enum class EncodingMode { Full, Parallel };
enum class PositionPolicy { Stretch, Restart, Sequential };
enum class BosPolicy { None, Shared, PerChunk };
enum class SelectAggregation { None, HeadsQueries };

struct SelectiveAttention {
    int topK = 0;       // chunks kept per (layer, head, query) or per layer; 0 = off
    int scoreTopN = 5;  // chunk score = sum of its top-n probabilities (n <= 0: mean)
    SelectAggregation aggregation = SelectAggregation::None;
    bool enabled() const { return topK > 0; }
    bool operator==(const SelectiveAttention&) const = default;
};

struct EncodingOptions {
    EncodingMode mode = EncodingMode::Parallel;
    bool sinkPrefix = true;                              // use the context's prefix as a shared attention sink
    PositionPolicy positions = PositionPolicy::Stretch;  // parallel mode; full mode is sequential
    BosPolicy bos = BosPolicy::None;
    SelectiveAttention selective;
    bool operator==(const EncodingOptions&) const = default;
};

const char* toString(EncodingMode m);       // "full" | "parallel"
const char* toString(PositionPolicy p);     // "stretch" | "restart" | "sequential"
const char* toString(BosPolicy b);          // "none" | "shared" | "per-chunk"
const char* toString(SelectAggregation a);  // "none" | "heads-queries"
Result<EncodingMode> parseEncodingMode(const std::string& s);
Result<PositionPolicy> parsePositionPolicy(const std::string& s);
Result<BosPolicy> parseBosPolicy(const std::string& s);
Result<SelectAggregation> parseSelectAggregation(const std::string& s);

// One-line label such as "parallel · sink · selective K=2 (top-5)".
std::string describe(const EncodingOptions& o);

}  // namespace attnscope
