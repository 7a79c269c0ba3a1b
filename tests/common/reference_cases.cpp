#include "common/reference_cases.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace attnscope::test {

std::string referenceDir() {
    if (const char* e = std::getenv("ATTNSCOPE_REFERENCE")) return std::string(e) + "/stories260K";
    return "../shared/reference/stories260K";
}

std::vector<std::string> referenceCases() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(referenceDir(), ec))
        if (e.path().extension() == ".json") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

EncodingOptions referenceOptions(const Json& o, bool hasPrefix) {
    auto text = [&](const char* key) {
        const Json* v = o.find(key);
        return v && v->isString() ? v->asString() : std::string();
    };
    auto startsWith = [](const std::string& s, const char* p) { return s.rfind(p, 0) == 0; };
    EncodingOptions opt;
    opt.mode = text("mode") == "full" ? EncodingMode::Full : EncodingMode::Parallel;
    opt.sinkPrefix = hasPrefix;
    const std::string pos = text("positions");
    opt.positions = startsWith(pos, "restart")      ? PositionPolicy::Restart
                    : startsWith(pos, "sequential") ? PositionPolicy::Sequential
                                                    : PositionPolicy::Stretch;
    const std::string bos = text("bos");
    opt.bos = startsWith(bos, "shared") ? BosPolicy::Shared : startsWith(bos, "per-chunk") ? BosPolicy::PerChunk : BosPolicy::None;
    if (const Json* k = o.find("select_top_k")) opt.selective.topK = static_cast<int>(k->asInt());
    if (const Json* n = o.find("select_score_top_n")) opt.selective.scoreTopN = static_cast<int>(n->asInt());
    opt.selective.aggregation = startsWith(text("select_aggregation"), "heads") ? SelectAggregation::HeadsQueries
                                                                                 : SelectAggregation::None;
    return opt;
}

}  // namespace attnscope::test
