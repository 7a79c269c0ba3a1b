#include "plan/encoding_options.h"

#include "core/enum_names.h"

namespace attnscope {

namespace {

// Names in enum order.
constexpr const char* kModeNames[] = {"full", "parallel"};
constexpr const char* kPositionNames[] = {"stretch", "restart", "sequential"};
constexpr const char* kBosNames[] = {"none", "shared", "per-chunk"};
constexpr const char* kAggregationNames[] = {"none", "heads-queries"};
constexpr const char* kWindowRuleLabels[] = {"window by physical index", "window by position"};

template <typename E, std::size_t N>
Result<E> parseName(const std::string& s, const char* const (&names)[N], const std::string& what,
                    const std::string& allowed) {
    if (auto e = enumFromName<E>(s, names)) return *e;
    return makeError(ErrorKind::InvalidInput, "unknown " + what + " '" + s + "' (expected " + allowed + ")");
}

}  // namespace

const char* toString(EncodingMode m) { return enumName(m, kModeNames); }
const char* toString(PositionPolicy p) { return enumName(p, kPositionNames); }
const char* toString(BosPolicy b) { return enumName(b, kBosNames); }
const char* toString(SelectAggregation a) { return enumName(a, kAggregationNames); }
const char* toString(WindowRule w) { return enumName(w, kWindowRuleNames); }
const char* windowRuleLabel(WindowRule w) { return enumName(w, kWindowRuleLabels); }

Result<EncodingMode> parseEncodingMode(const std::string& s) {
    return parseName<EncodingMode>(s, kModeNames, "mode", "full or parallel");
}
Result<PositionPolicy> parsePositionPolicy(const std::string& s) {
    return parseName<PositionPolicy>(s, kPositionNames, "positions rule", "stretch, restart or sequential");
}
Result<BosPolicy> parseBosPolicy(const std::string& s) {
    return parseName<BosPolicy>(s, kBosNames, "BOS policy", "none, shared or per-chunk");
}
Result<SelectAggregation> parseSelectAggregation(const std::string& s) {
    return parseName<SelectAggregation>(s, kAggregationNames, "selection aggregation", "none or heads-queries");
}
Result<WindowRule> parseWindowRule(const std::string& s) {
    return parseName<WindowRule>(s, kWindowRuleNames, "window rule", "physical or position");
}

std::string describe(const EncodingOptions& o, bool slidingWindow) {
    std::string s = toString(o.mode);
    if (o.sinkPrefix) s += " · sink";
    if (o.mode == EncodingMode::Parallel && o.positions != PositionPolicy::Stretch)
        s += std::string(" · positions ") + toString(o.positions);
    if (o.bos != BosPolicy::None) s += std::string(" · BOS ") + toString(o.bos);
    if (o.selective.enabled()) {
        s += " · selective K=" + std::to_string(o.selective.topK);
        s += o.selective.scoreTopN > 0 ? " (top-" + std::to_string(o.selective.scoreTopN) + ")" : " (mean)";
        if (o.selective.aggregation == SelectAggregation::HeadsQueries) s += " per layer";
    }
    if (slidingWindow) s += std::string(" · ") + windowRuleLabel(o.window);
    return s;
}

}  // namespace attnscope
