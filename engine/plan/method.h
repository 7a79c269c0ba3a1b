#pragma once
// The methods the paper compares, and the one rule that turns a user's method settings into
// encoding options. The CLI, the P sweep, the GUI's method toolbar and its per-method lines all
// go through here: adding a method, or changing what one means, is an edit to this file and
// method.cpp only.
#include <string>

#include "core/enum_names.h"
#include "core/error.h"
#include "plan/encoding_options.h"

namespace attnscope {

// full      full causal attention over [prefix | chunks | query], sequential positions
// parallel  parallel encoding without a shared prefix
// sink      parallel encoding with the prefix as a shared attention sink
// selective parallel encoding with selective attention (top-K chunks)
// both      sink and selective attention together
enum class Method { Full, Parallel, Sink, Selective, Both };
inline constexpr Method kMethods[] = {Method::Full, Method::Parallel, Method::Sink, Method::Selective, Method::Both};

// "full" | "parallel" | "sink" | "selective" | "both" (inline: views name methods without
// linking the engine).
inline constexpr const char* kMethodNames[] = {"full", "parallel", "sink", "selective", "both"};  // Method order
inline constexpr const char* toString(Method m) { return enumName(m, kMethodNames); }
Result<Method> parseMethod(const std::string& s);

constexpr int kDefaultSelectK = 2;     // PAPER.md: K = 2
constexpr int kDefaultScoreTopN = 5;   // PAPER.md: n = 5

// What a user sets: the mode and two toggles, plus the settings every method shares. The
// toggles span more than the five methods (full attention without the prefix, say);
// `toOptions` is the rule for all of them.
struct MethodSettings {
    EncodingMode mode = EncodingMode::Parallel;
    bool sink = true;        // the context's prefix is encoded (as a shared sink in parallel mode)
    bool selective = false;  // selective attention on; selectK is kept while it is off
    int selectK = kDefaultSelectK;
    int scoreTopN = kDefaultScoreTopN;
    SelectAggregation aggregation = SelectAggregation::None;
    PositionPolicy positions = PositionPolicy::Stretch;  // parallel mode; full mode is sequential
    BosPolicy bos = BosPolicy::None;

    EncodingOptions toOptions() const;
    bool operator==(const MethodSettings&) const = default;
};

// The settings of method `m`, the shared ones taken from `base`. Full attention keeps the
// prefix (it sees the same tokens as `sink`), and selection switched on with K <= 0 uses
// kDefaultSelectK.
MethodSettings settingsFor(Method m, const MethodSettings& base);
EncodingOptions methodOptions(Method m, const MethodSettings& base);
// Which of the methods the settings are (full whenever the mode is full).
Method methodOf(const MethodSettings& settings);

}  // namespace attnscope
