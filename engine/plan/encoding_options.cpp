#include "plan/encoding_options.h"

namespace attnscope {

const char* toString(EncodingMode m) { return m == EncodingMode::Full ? "full" : "parallel"; }
const char* toString(PositionPolicy p) {
    switch (p) {
        case PositionPolicy::Stretch: return "stretch";
        case PositionPolicy::Restart: return "restart";
        case PositionPolicy::Sequential: return "sequential";
    }
    return "?";
}
const char* toString(BosPolicy b) {
    switch (b) {
        case BosPolicy::None: return "none";
        case BosPolicy::Shared: return "shared";
        case BosPolicy::PerChunk: return "per-chunk";
    }
    return "?";
}
const char* toString(SelectAggregation a) { return a == SelectAggregation::None ? "none" : "heads-queries"; }

namespace {
Error badChoice(const std::string& what, const std::string& got, const std::string& allowed) {
    return makeError(ErrorKind::InvalidInput, "unknown " + what + " '" + got + "' (expected " + allowed + ")");
}
}  // namespace

Result<EncodingMode> parseEncodingMode(const std::string& s) {
    if (s == "full") return EncodingMode::Full;
    if (s == "parallel") return EncodingMode::Parallel;
    return badChoice("mode", s, "full or parallel");
}
Result<PositionPolicy> parsePositionPolicy(const std::string& s) {
    if (s == "stretch") return PositionPolicy::Stretch;
    if (s == "restart") return PositionPolicy::Restart;
    if (s == "sequential") return PositionPolicy::Sequential;
    return badChoice("positions rule", s, "stretch, restart or sequential");
}
Result<BosPolicy> parseBosPolicy(const std::string& s) {
    if (s == "none") return BosPolicy::None;
    if (s == "shared") return BosPolicy::Shared;
    if (s == "per-chunk") return BosPolicy::PerChunk;
    return badChoice("BOS policy", s, "none, shared or per-chunk");
}
Result<SelectAggregation> parseSelectAggregation(const std::string& s) {
    if (s == "none") return SelectAggregation::None;
    if (s == "heads-queries") return SelectAggregation::HeadsQueries;
    return badChoice("selection aggregation", s, "none or heads-queries");
}

std::string describe(const EncodingOptions& o) {
    std::string s = toString(o.mode);
    if (o.sinkPrefix) s += " · sink";
    if (o.mode == EncodingMode::Parallel && o.positions != PositionPolicy::Stretch)
        s += std::string(" · positions ") + toString(o.positions);
    if (o.bos != BosPolicy::None) s += std::string(" · BOS ") + toString(o.bos);
    if (o.selective.enabled()) {
        s += " · selective K=" + std::to_string(o.selective.topK);
        s += " (top-" + std::to_string(o.selective.scoreTopN) + ")";
        if (o.selective.aggregation == SelectAggregation::HeadsQueries) s += " per layer";
    }
    return s;
}

}  // namespace attnscope
