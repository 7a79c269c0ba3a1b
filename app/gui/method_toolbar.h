#pragma once
// MethodToolbar: the method as one-click toggles — Full / Parallel, attention Sink, Selective
// attention — and the settings every method shares: K, the chunk score's top-n, the aggregation,
// the positions rule, the window rule of sliding-window layers and the BOS policy. It shows a MethodSettings and emits
// the one the user makes; the four toggles are actions, also offered by the Method menu.
#include <QToolBar>

#include "app_state.h"

class QAction;
class QComboBox;
class QSpinBox;

namespace attnscope::gui {

class MethodToolbar : public QToolBar {
    Q_OBJECT
public:
    explicit MethodToolbar(QWidget* parent = nullptr);

    // Shows `settings` (no signal).
    void setSettings(const MethodSettings& settings);

    QAction* fullAction() const { return full_; }
    QAction* parallelAction() const { return parallel_; }
    QAction* sinkAction() const { return sink_; }
    QAction* selectiveAction() const { return selective_; }

signals:
    void settingsChanged(const attnscope::MethodSettings& settings);  // by the user

private:
    void buildToggles();
    void buildSettings();
    void onControlChanged();

    MethodSettings settings_;
    bool syncing_ = false;
    QAction *full_ = nullptr, *parallel_ = nullptr, *sink_ = nullptr, *selective_ = nullptr;
    QSpinBox* kSpin_ = nullptr;
    QSpinBox* topNSpin_ = nullptr;
    QComboBox* aggregationCombo_ = nullptr;
    QComboBox* positionsCombo_ = nullptr;
    QComboBox* windowCombo_ = nullptr;
    QComboBox* bosCombo_ = nullptr;
};

}  // namespace attnscope::gui
