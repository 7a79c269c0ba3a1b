// Context files: the engine's JSON parser and writer, ContextSpec::fromJson / toJson, and the
// encoding plan built from the context (every mode, positions and BOS policy).
#include <array>
#include <filesystem>

#include "core/json.h"
#include "fuzz_support.h"
#include "plan/context_spec.h"
#include "plan/encoding_plan.h"

using namespace attnscope;

namespace {

constexpr int kVocab = 512;  // tok512.model, the stories260K vocabulary

const Tokenizer* stories() {
    static const std::shared_ptr<const Tokenizer> tok = [] {
        const auto path = std::filesystem::path(fuzz::modelsDir()) / "tok512.model";
        auto t = loadSentencePieceFile(path.string());
        return t ? *t : std::shared_ptr<const Tokenizer>();
    }();
    return tok.get();
}

// Anything written must read back. Numbers are written with 9 significant digits (json.h), so
// the first round trip may round one; from then on the text must stay the same.
void checkRoundTrip(const Json& json) {
    auto readBack = [](const std::string& text) {
        auto again = Json::parse(text);
        if (!again) fuzz::violated("Json::dump wrote text Json::parse rejects: " + again.error().message);
        return std::move(*again);
    };
    const std::string once = readBack(json.dump()).dump();
    if (readBack(once).dump() != once) fuzz::violated("Json::dump is not stable after a round trip: " + once);
}

void buildPlans(const ContextSpec& spec, std::uint8_t pick) {
    EncodingOptions options;
    options.mode = pick & 1 ? EncodingMode::Full : EncodingMode::Parallel;
    options.sinkPrefix = pick & 2;
    constexpr std::array positions{PositionPolicy::Stretch, PositionPolicy::Restart, PositionPolicy::Sequential};
    constexpr std::array bos{BosPolicy::None, BosPolicy::Shared, BosPolicy::PerChunk};
    options.positions = positions[(pick >> 2) % 3];
    options.bos = bos[(pick >> 4) % 3];
    auto plan = buildPlan(spec, options, stories(), kVocab, 1 << 14);
    if (!plan) return;
    if (auto ok = plan->validate(kVocab); !ok) fuzz::violated("buildPlan made an invalid plan: " + ok.error().message);
    (void)plan->hash();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto json = Json::parse(fuzz::inputText(data, size), "fuzz.json");
    if (!json) return 0;
    checkRoundTrip(*json);
    auto spec = ContextSpec::fromJson(*json, "fuzz.json");
    if (!spec) return 0;
    auto again = ContextSpec::fromJson(spec->toJson(), "fuzz.json");
    if (!again) fuzz::violated("ContextSpec::toJson wrote a context fromJson rejects: " + again.error().message);
    buildPlans(*spec, size > 0 ? data[size - 1] : 0);
    return 0;
}
