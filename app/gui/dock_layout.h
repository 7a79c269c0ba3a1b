#pragma once
// DockLayout: the docks around the attention map — the context editor on the left, layer × head
// over entropy by layer on the right, the context text beside the sequence plot (tabbed with the
// P sweep) at the bottom; their default proportions, applied at the first show unless a saved
// layout was restored; and presentation mode's arrangement (the views as tabs, two at a time),
// with the layout from before it kept for saving and given back afterwards.
#include <QByteArray>
#include <QObject>

class QDockWidget;
class QMainWindow;
class QMenu;
class QWidget;

namespace attnscope::gui {

class AnalysisViews;

class DockLayout : public QObject {
    Q_OBJECT
public:
    // Docks `editor` and the views' panels in `window`; `viewMenu` gets a toggle for each dock.
    DockLayout(QMainWindow* window, QMenu* viewMenu, QWidget* editor, const AnalysisViews* views);

    QDockWidget* dock(const char* name) const;
    // Restores a saved layout (from the settings or a session); false when it does not apply.
    bool restore(const QByteArray& state);
    // The layout to save: the one outside presentation mode.
    QByteArray state() const;
    // The window is shown: the first time, the default proportions unless a layout was restored.
    void windowShown();
    void setPresentation(bool on);

private:
    void applyDefaultSizes();

    QMainWindow* window_;
    bool presentation_ = false;
    QByteArray beforePresentation_;
    bool shown_ = false;     // the first show has happened
    bool restored_ = false;  // a saved layout was restored
};

}  // namespace attnscope::gui
