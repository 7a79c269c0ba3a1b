#pragma once
// Plain values describing what the user has chosen: the method toggles, the selection shared by
// every view, and the view state saved in sessions. No widgets, no engine calls.
#include <QByteArray>
#include <QString>
#include <QVector>

#include <optional>

#include "plan/context_spec.h"
#include "plan/method.h"

namespace attnscope::gui {

// The method toolbar's state is the engine's MethodSettings (plan/method.h): mode, sink and
// selective toggles plus the shared settings; the engine maps it to encoding options.
using attnscope::MethodSettings;
// The engine's one-line label of the settings: "parallel · sink · selective K=2 (top-5)"; for a
// model with sliding-window layers it names the window rule too ("· window by position").
QString methodLabel(const MethodSettings& settings, bool slidingWindow = false);
// The window rules explained in two sentences (tooltips).
QString windowRuleToolTip();

// The selection every view follows.
struct ViewSelection {
    int layer = 0;
    int head = -1;             // -1: mean over heads
    int queryToken = -1;       // query token index q (0 = first query token); -1: all query tokens
    bool allTokenRows = true;  // attention map rows: all tokens (true) or query tokens (false)
    bool operator==(const ViewSelection&) const = default;
};

// P-sweep settings (sweep dock).
struct SweepSettings {
    static constexpr int kMaxParts = 4096;  // the largest P a sweep accepts
    QVector<int> parts = {1, 2, 4, 8, 16};
    int queryTokens = 0;  // the last N tokens are the query; 0: as many as the context's query has
    bool operator==(const SweepSettings&) const = default;
};

// Everything a session file holds.
struct SessionState {
    QString modelPath;
    ContextSpec context;
    MethodSettings method;
    ViewSelection selection;
    SweepSettings sweep;
    QByteArray windowGeometry;  // QMainWindow::saveGeometry()
    QByteArray windowState;     // QMainWindow::saveState()
    bool presentation = false;
    bool logScale = true;  // attention map colour scale
    QString currentView;   // object name of the view tab in front
};

bool sameContext(const ContextSpec& a, const ContextSpec& b);
bool operator==(const SessionState& a, const SessionState& b);

}  // namespace attnscope::gui
