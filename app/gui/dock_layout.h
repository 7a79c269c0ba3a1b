#pragma once
// DockLayout: the docks around the attention map — the context editor on the left, layer × head
// over entropy by layer on the right, the context text beside the sequence plot (tabbed with the
// P sweep) at the bottom; their default proportions, applied at the first show unless a saved
// layout was restored; and presentation mode's arrangement (the views as tabs, two at a time),
// with the layout from before it kept for saving and given back afterwards; a lesson's (every dock
// hidden, one view in the centre); and a compact view's "click to enlarge" (its dock floats).
#include <QByteArray>
#include <QHash>
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
    // A lesson: every dock hidden (the window shows one view, enlarged, in the centre); the
    // layout from before comes back afterwards.
    void setLesson(bool on);
    // A view taken into the centre goes back into its dock.
    void giveBack(QWidget* panel);
    // The dock holding `panel`, floating over the window at a readable size.
    void floatEnlarged(QWidget* panel);

private:
    void applyDefaultSizes();

    QMainWindow* window_;
    bool presentation_ = false;
    bool lesson_ = false;
    QByteArray beforePresentation_, beforeLesson_;
    QHash<QWidget*, QDockWidget*> homes_;  // each docked view's dock
    bool shown_ = false;                   // the first show has happened
    bool restored_ = false;                // a saved layout was restored
};

}  // namespace attnscope::gui
