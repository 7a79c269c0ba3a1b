#include "plan/method.h"

namespace attnscope {

Result<Method> parseMethod(const std::string& s) {
    if (auto m = enumFromName<Method>(s, kMethodNames)) return *m;
    return makeError(ErrorKind::InvalidInput,
                     "unknown method '" + s + "' (expected full, parallel, sink, selective or both)");
}

EncodingOptions MethodSettings::toOptions() const {
    EncodingOptions o;
    o.mode = mode;
    o.sinkPrefix = sink;
    o.positions = mode == EncodingMode::Full ? PositionPolicy::Sequential : positions;
    o.bos = bos;
    o.selective.topK = selective ? selectK : 0;
    o.selective.scoreTopN = scoreTopN;
    o.selective.aggregation = aggregation;
    return o;
}

MethodSettings settingsFor(Method m, const MethodSettings& base) {
    MethodSettings s = base;
    s.mode = m == Method::Full ? EncodingMode::Full : EncodingMode::Parallel;
    s.sink = m == Method::Full || m == Method::Sink || m == Method::Both;
    s.selective = m == Method::Selective || m == Method::Both;
    if (s.selective && s.selectK <= 0) s.selectK = kDefaultSelectK;
    return s;
}

EncodingOptions methodOptions(Method m, const MethodSettings& base) { return settingsFor(m, base).toOptions(); }

Method methodOf(const MethodSettings& s) {
    if (s.mode == EncodingMode::Full) return Method::Full;
    if (s.sink && s.selective) return Method::Both;
    if (s.sink) return Method::Sink;
    if (s.selective) return Method::Selective;
    return Method::Parallel;
}

}  // namespace attnscope
