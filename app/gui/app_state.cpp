#include "app_state.h"

namespace attnscope::gui {

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

QString MethodSettings::label() const { return QString::fromStdString(describe(toOptions())); }

EncodingOptions methodOptions(SweepMethod method, const MethodSettings& base) {
    MethodSettings s = base;
    s.mode = method == SweepMethod::Full ? EncodingMode::Full : EncodingMode::Parallel;
    s.sink = method == SweepMethod::Full || method == SweepMethod::Sink || method == SweepMethod::Both;
    s.selective = method == SweepMethod::Selective || method == SweepMethod::Both;
    if (s.selective && s.selectK <= 0) s.selectK = 2;
    return s.toOptions();
}

SweepMethod activeMethod(const MethodSettings& s) {
    if (s.mode == EncodingMode::Full) return SweepMethod::Full;
    if (s.sink && s.selective) return SweepMethod::Both;
    if (s.sink) return SweepMethod::Sink;
    if (s.selective) return SweepMethod::Selective;
    return SweepMethod::Parallel;
}

bool sameContext(const ContextSpec& a, const ContextSpec& b) {
    return a.prefix == b.prefix && a.chunks == b.chunks && a.query == b.query && a.prefixIds == b.prefixIds &&
           a.chunkIds == b.chunkIds && a.queryIds == b.queryIds;
}

bool operator==(const SessionState& a, const SessionState& b) {
    return a.modelPath == b.modelPath && sameContext(a.context, b.context) && a.method == b.method &&
           a.selection == b.selection && a.sweep == b.sweep && a.windowGeometry == b.windowGeometry &&
           a.windowState == b.windowState && a.presentation == b.presentation && a.logScale == b.logScale &&
           a.currentView == b.currentView;
}

}  // namespace attnscope::gui
