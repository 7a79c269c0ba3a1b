#pragma once
// SelectionToolbar: which layer, head (or the mean of heads) and query token (or all of them)
// every view shows, and the same as keyboard steps — next/previous layer, head and query token,
// wrapping around — as actions for the View menu. It shows a ViewSelection and emits the one
// the user chooses.
#include <QList>
#include <QStringList>
#include <QToolBar>

#include "app_state.h"

class QAction;
class QComboBox;
class QSpinBox;

namespace attnscope::gui {

class SelectionToolbar : public QToolBar {
    Q_OBJECT
public:
    explicit SelectionToolbar(QWidget* parent = nullptr);

    // What there is to choose from: `layers` × `heads` (0 × 0 while no model is open) and the
    // query tokens' texts.
    void setChoices(int layers, int heads, const QStringList& queryTokens);
    // Shows `selection` (no signal).
    void setSelection(const ViewSelection& selection);
    // Next/previous layer, head, query token.
    QList<QAction*> stepActions() const { return steps_; }

signals:
    void selectionChanged(const attnscope::gui::ViewSelection& selection);  // by the user

private:
    void buildControls();
    void buildSteps();
    void choose(const std::function<void(ViewSelection&)>& change);

    ViewSelection selection_;
    int layers_ = 0, heads_ = 0;
    QStringList queryTokens_;
    bool syncing_ = false;
    QSpinBox* layerSpin_ = nullptr;
    QComboBox* headCombo_ = nullptr;
    QComboBox* queryCombo_ = nullptr;
    QList<QAction*> steps_;
};

}  // namespace attnscope::gui
