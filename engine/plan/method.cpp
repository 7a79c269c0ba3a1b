#include "plan/method.h"

namespace attnscope {

Result<Method> parseMethod(const std::string& s) {
    std::string expected;  // "full, parallel, ... or both"
    for (std::size_t i = 0; i < std::size(kMethodDefinitions); ++i) {
        const MethodDefinition& d = kMethodDefinitions[i];
        if (s == d.name) return d.method;
        expected += std::string(i == 0 ? "" : i + 1 == std::size(kMethodDefinitions) ? " or " : ", ") + d.name;
    }
    return makeError(ErrorKind::InvalidInput, "unknown method '" + s + "' (expected " + expected + ")");
}

EncodingOptions MethodSettings::toOptions() const {
    EncodingOptions o;
    o.mode = mode;
    o.sinkPrefix = sink;
    o.positions = mode == EncodingMode::Full ? PositionPolicy::Sequential : positions;
    o.bos = bos;
    o.window = window;
    if (selective) o.selective = SelectiveAttention{selectK, scoreTopN, aggregation};  // else off, at its defaults
    return o;
}

MethodSettings settingsFor(Method m, const MethodSettings& base) {
    const MethodDefinition& d = definition(m);
    MethodSettings s = base;
    s.mode = d.mode;
    s.sink = d.sink;
    s.selective = d.selective;
    if (s.selective && s.selectK <= 0) s.selectK = kDefaultSelectK;
    return s;
}

EncodingOptions methodOptions(Method m, const MethodSettings& base) { return settingsFor(m, base).toOptions(); }

Method methodOf(const MethodSettings& s) {
    for (const MethodDefinition& d : kMethodDefinitions)
        if (d.mode == s.mode && (d.mode == EncodingMode::Full || (d.sink == s.sink && d.selective == s.selective)))
            return d.method;
    return Method::Parallel;
}

}  // namespace attnscope
