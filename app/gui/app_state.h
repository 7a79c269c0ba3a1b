#pragma once
// Plain values describing what the user has chosen: the method toggles, the selection shared by
// every view, and the view state saved in sessions. No widgets, no engine calls.
#include <QByteArray>
#include <QString>
#include <QVector>

#include <optional>

#include "analysis/sweep.h"
#include "plan/context_spec.h"
#include "plan/encoding_options.h"

namespace attnscope::gui {

// The method toolbar. Selective keeps its K while switched off, so one click brings it back.
struct MethodSettings {
    EncodingMode mode = EncodingMode::Parallel;
    bool sink = true;
    bool selective = false;
    int selectK = 2;
    int scoreTopN = 5;
    SelectAggregation aggregation = SelectAggregation::None;
    PositionPolicy positions = PositionPolicy::Stretch;
    BosPolicy bos = BosPolicy::None;

    EncodingOptions toOptions() const;
    QString label() const;   // the engine's describe(): "parallel · sink · selective K=2 (top-5)"
    bool operator==(const MethodSettings&) const = default;
};

// The five method lines of the entropy-by-layer plot, named as the sweep names them.
// Full = full causal attention over [prefix | chunks | query]; the others are parallel
// encodings with the user's positions/BOS/K/score settings.
inline constexpr SweepMethod kMethods[] = {SweepMethod::Full, SweepMethod::Parallel, SweepMethod::Sink,
                                           SweepMethod::Selective, SweepMethod::Both};
EncodingOptions methodOptions(SweepMethod method, const MethodSettings& base);
// Which of the five lines the current settings are (Full whenever the mode is full).
SweepMethod activeMethod(const MethodSettings& settings);

// The selection every view follows.
struct ViewSelection {
    int layer = 0;
    int head = -1;            // -1: mean over heads
    int queryToken = -1;      // query token index q (0 = first query token); -1: all query tokens
    bool allTokenRows = true;   // attention map rows: all tokens (true) or query tokens (false)
    bool operator==(const ViewSelection&) const = default;
};

// P-sweep settings (sweep dock).
struct SweepSettings {
    QVector<int> parts = {1, 2, 4, 8, 16};
    int queryTokens = 0;      // the last N tokens are the query; 0: as many as the context's query has
    bool operator==(const SweepSettings&) const = default;
};

// Everything a session file holds.
struct SessionState {
    QString modelPath;
    ContextSpec context;
    MethodSettings method;
    ViewSelection selection;
    SweepSettings sweep;
    QByteArray windowGeometry;   // QMainWindow::saveGeometry()
    QByteArray windowState;      // QMainWindow::saveState()
    bool presentation = false;
    bool logScale = true;        // attention map colour scale
    QString currentView;         // object name of the view tab in front
};

bool sameContext(const ContextSpec& a, const ContextSpec& b);
bool operator==(const SessionState& a, const SessionState& b);

}  // namespace attnscope::gui
