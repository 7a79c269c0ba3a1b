#pragma once
// The paper's knobs (../shared PAPER.md): every mode is data in the plan, never a kernel branch.
#include <string>

#include "core/error.h"

namespace attnscope {

enum class EncodingMode { Full, Parallel };
enum class PositionPolicy { Stretch, Restart, Sequential };
enum class BosPolicy { None, Shared, PerChunk };
enum class SelectAggregation { None, HeadsQueries };
// How a sliding window (local layers) measures the distance from a row to a key (PAPER.md,
// "Sliding-window layers"): by physical index, as transformers does, or by rotary position id,
// as llama.cpp does. The two agree whenever positions are sequential (full mode).
enum class WindowRule { Physical, Position };
// Its names in enum order (inline: views spell it without linking the engine; core/enum_names.h).
inline constexpr const char* kWindowRuleNames[] = {"physical", "position"};
// The two rules in two sentences, for tooltips (inline: views show it without linking the engine).
inline constexpr const char* kWindowRulesExplained =
    "A sliding-window (local) layer lets a token see only the keys within W of it, measured by "
    "physical index i - j < W (as transformers does, the default) or by position id pos(i) - pos(j) < W "
    "(as llama.cpp does). The two agree in full mode, but in parallel mode the physical rule hides the "
    "sink and the early chunks from every token more than W tokens after them, while the position rule "
    "lets it see every chunk whose positions lie within W.";

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
    WindowRule window = WindowRule::Physical;  // sliding-window layers only
    bool operator==(const EncodingOptions&) const = default;
};

const char* toString(EncodingMode m);       // "full" | "parallel"
const char* toString(PositionPolicy p);     // "stretch" | "restart" | "sequential"
const char* toString(BosPolicy b);          // "none" | "shared" | "per-chunk"
const char* toString(SelectAggregation a);  // "none" | "heads-queries"
const char* toString(WindowRule w);         // "physical" | "position"
Result<EncodingMode> parseEncodingMode(const std::string& s);
Result<PositionPolicy> parsePositionPolicy(const std::string& s);
Result<BosPolicy> parseBosPolicy(const std::string& s);
Result<SelectAggregation> parseSelectAggregation(const std::string& s);
Result<WindowRule> parseWindowRule(const std::string& s);

// One-line label such as "parallel · sink · selective K=2 (top-5)"; for a model with
// sliding-window layers it also names the window rule ("window by position").
std::string describe(const EncodingOptions& o, bool slidingWindow = false);
// "window by physical index" | "window by position": the window rule as the method line says it.
const char* windowRuleLabel(WindowRule w);

}  // namespace attnscope
