#include "app_state.h"

namespace attnscope::gui {

QString methodLabel(const MethodSettings& settings, bool slidingWindow) {
    return QString::fromStdString(describe(settings.toOptions(), slidingWindow));
}

QString windowRuleToolTip() { return QString::fromUtf8(kWindowRulesExplained); }

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
