#pragma once
// The methods the paper compares, and the one rule that turns a user's method settings into
// encoding options. The CLI, the P sweep, the GUI's method toolbar and its per-method lines all
// go through here. A method is one enum value plus one row of kMethodDefinitions: adding a
// sixth method, or changing what one means, is an edit to this file alone.
#include <array>
#include <cstddef>
#include <string>

#include "core/error.h"
#include "plan/encoding_options.h"

namespace attnscope {

enum class Method { Full, Parallel, Sink, Selective, Both };

// A method as data: its name (CLI, files, sweep output), a short label for plot legends, and
// the mode and toggles it sets (MethodSettings below).
struct MethodDefinition {
    Method method;
    const char* name;
    const char* legend;
    EncodingMode mode;
    bool sink;       // the prefix is encoded: full attention over it, or a shared sink
    bool selective;  // selective attention (top-K chunks)
};

// In enum order. Full attention keeps the prefix: it sees the same tokens as `sink`.
inline constexpr MethodDefinition kMethodDefinitions[] = {
    {Method::Full, "full", "full", EncodingMode::Full, true, false},
    {Method::Parallel, "parallel", "parallel", EncodingMode::Parallel, false, false},
    {Method::Sink, "sink", "+ sink", EncodingMode::Parallel, true, false},
    {Method::Selective, "selective", "+ selective", EncodingMode::Parallel, false, true},
    {Method::Both, "both", "+ sink + sel.", EncodingMode::Parallel, true, true},
};

static_assert(
    [] {
        for (std::size_t i = 0; i < std::size(kMethodDefinitions); ++i)
            if (static_cast<std::size_t>(kMethodDefinitions[i].method) != i) return false;
        return true;
    }(),
    "kMethodDefinitions lists the methods in enum order");

// Every method, in the order views list them.
inline constexpr auto kMethods = [] {
    std::array<Method, std::size(kMethodDefinitions)> all{};
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = kMethodDefinitions[i].method;
    return all;
}();

inline constexpr const MethodDefinition& definition(Method m) {
    return kMethodDefinitions[static_cast<std::size_t>(m)];
}
// "full" | "parallel" | "sink" | "selective" | "both" (inline: views name methods without
// linking the engine).
inline constexpr const char* toString(Method m) { return definition(m).name; }
Result<Method> parseMethod(const std::string& s);

constexpr int kDefaultSelectK = 2;    // PAPER.md: K = 2
constexpr int kDefaultScoreTopN = 5;  // PAPER.md: n = 5

// What a user sets: the mode and two toggles, plus the settings every method shares. The
// toggles span more than the five methods (full attention without the prefix, say);
// `toOptions` is the rule for all of them. Settings that cannot change a run are left out of
// the options (positions in full mode, K and the score while selection is off), so equal
// options mean equal runs.
struct MethodSettings {
    EncodingMode mode = EncodingMode::Parallel;
    bool sink = true;        // the context's prefix is encoded (as a shared sink in parallel mode)
    bool selective = false;  // selective attention on; selectK is kept while it is off
    int selectK = kDefaultSelectK;
    int scoreTopN = kDefaultScoreTopN;
    SelectAggregation aggregation = SelectAggregation::None;
    PositionPolicy positions = PositionPolicy::Stretch;  // parallel mode; full mode is sequential
    BosPolicy bos = BosPolicy::None;
    // Sliding-window layers. Kept in full mode too, where both rules give the same run, so that
    // the method line names the rule the user chose.
    WindowRule window = WindowRule::Physical;

    EncodingOptions toOptions() const;
    bool operator==(const MethodSettings&) const = default;
};

// The settings of method `m` (its definition's toggles), the shared ones taken from `base`;
// selection switched on with K <= 0 uses kDefaultSelectK.
MethodSettings settingsFor(Method m, const MethodSettings& base);
EncodingOptions methodOptions(Method m, const MethodSettings& base);
// Which of the methods the settings are: the first definition with the same mode whose
// toggles match (full whenever the mode is full).
Method methodOf(const MethodSettings& settings);

}  // namespace attnscope
