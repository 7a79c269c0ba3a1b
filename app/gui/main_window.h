#pragma once
// The attnscope main window. It lays out the parts and routes between them; each job is a class
// of its own: MethodToolbar and SelectionToolbar (what is shown), AnalysisViews (the six views in
// their panels), ViewFeeder (results → views), DockLayout (the docks, presentation layout),
// JobStatusBar (jobs, result summary, model), SessionDocument (the session file, dirty state,
// recent files), FileCommands (the File menu, dialogs, drops), FigureExporter (export), the
// ContextEditor and the EmptyState shown while no model is open.
#include <QMainWindow>
#include <QTimer>

#include "analysis_controller.h"
#include "analysis_views.h"
#include "app_state.h"

class QAction;
class QMenu;
class QStackedWidget;

namespace attnscope::gui {

class Autosave;
class ContextEditor;
class DockLayout;
class EmptyState;
class EngineWorker;
class FigureExporter;
class FileCommands;
class JobStatusBar;
class LessonPlayer;
class MethodToolbar;
class SelectionToolbar;
class SessionDocument;
class ViewFeeder;
class ViewPanel;
struct StartupOptions;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Headless: never shown, no dialogs (errors go to the caller). Interactive: the app.
    enum class Mode { Interactive, Headless };
    explicit MainWindow(Mode mode = Mode::Interactive, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Applies the command line: session/context/model files, method overrides; with no files,
    // the demo context and the bundled model. Returns false with a message for a file that
    // cannot be read (the window stays usable). Interactive: then offers to restore the work of
    // a run that did not exit cleanly, and starts the autosave.
    bool start(const StartupOptions& options, QString* error = nullptr);

    AnalysisController* controller() const { return controller_; }
    EngineWorker* worker() const { return worker_; }
    Autosave* autosave() const { return autosave_; }  // null when headless
    ContextEditor* contextEditor() const { return editor_; }
    widgets::AttentionHeatmap* heatmap() const { return views_->heatmap(); }
    widgets::EntropyByLayerPlot* entropyByLayer() const { return views_->entropyByLayer(); }
    widgets::LayerHeadGrid* layerHeadGrid() const { return views_->layerHeadGrid(); }
    widgets::EntropySequencePlot* sequencePlot() const { return views_->sequencePlot(); }
    widgets::SweepPlot* sweepPlot() const { return views_->sweepPlot(); }
    widgets::ContextView* contextView() const { return views_->contextView(); }
    QList<ViewPanel*> panels() const { return views_->panels(); }
    ViewPanel* panel(const QString& key) const { return views_->panel(key); }

    // ---- files (interactive variants show dialogs; these return errors)
    // Opens a model in the background (a running load is replaced). A failure is shown in a dialog
    // naming the file or folder and the reason (headless: lastError()); the model we had stays.
    void openModel(const QString& path);
    bool openContextFile(const QString& path, QString* error = nullptr);
    bool openSessionFile(const QString& path, QString* error = nullptr);
    bool saveSessionFile(const QString& path, QString* error = nullptr);
    // Opens whatever `path` is: a session, a context (.json/.txt), a model (.gguf / HF folder).
    bool openAnyFile(const QString& path, QString* error = nullptr);
    SessionState sessionState() const;
    // Applies a validated session (the model is opened if it differs from the current one).
    void applySessionState(const SessionState& state);
    QString sessionPath() const;
    bool isDirty() const;

    // ---- method and selection
    MethodSettings method() const { return controller_->method(); }
    void setMethod(const MethodSettings& method);
    void setSelection(const ViewSelection& selection) { controller_->setSelection(selection); }
    QAction* sinkAction() const;
    QAction* selectiveAction() const;
    QAction* fullAction() const;
    QAction* parallelAction() const;

    // ---- export
    bool exportPanel(ViewPanel* panel, const QString& path, QString* error = nullptr);
    // Every view as PNG/SVG/PDF + its data (CSV/JSON), plus analysis.json, entropy.csv,
    // context.json (and sweep.csv/json when a sweep has run) into `dir`. Figures have the size the
    // views have on screen, or with `atExportSize` each view's export size (headless export).
    bool exportFigureSet(const QString& dir, QString* error = nullptr, double pngScale = 2.0,
                         bool atExportSize = false);

    // ---- readiness (tests, the benchmark and headless export wait on these)
    // The current result is shown everywhere, with its attention-map tile and token shading.
    bool isSettled() const;
    // Settled, the method comparison is in, and no sweep is running.
    bool isComplete() const;
    // Spins the event loop until isSettled() (or isComplete()); false on timeout or error.
    bool waitForSettled(int timeoutMs, bool complete = false);

    void setPresentationMode(bool on);
    bool presentationMode() const { return presentation_; }

    // ---- lessons (lesson_player.h)
    // Opens a lesson in presentation mode at its first step; false with "file: reason".
    bool startLesson(const QString& path, QString* error = nullptr);
    void endLesson();
    LessonPlayer* lessonPlayer() const { return lesson_; }
    // Shows the view `key` (a panel key) in the centre of the window, the docks hidden; an empty
    // key puts every view back in its place.
    void enlargeView(const QString& key);
    QString enlargedView() const;
    QString currentViewKey() const;
    // The editor and the controller at once (no debounce), as opening a context file does.
    void setContext(const ContextSpec& context);
    // The last model or analysis error, as shown to the user ("file: reason").
    QString lastError() const;

signals:
    void settled();

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    bool interactive() const { return mode_ == Mode::Interactive; }
    // construction
    void buildMenus();
    void buildToolbars();
    void connectParts();
    SessionState essentials() const;  // what makes the session dirty: context, method, model

    // routing
    void onModelLoaded();
    void onModelFailed(const QString& path, const QString& message);
    void syncSelection();
    void runSweep();
    void openStartupModel(const StartupOptions& options, bool haveModel,
                          const std::function<void(const QString&)>& fail);
    // The autosave of a run that did not exit cleanly, if any: offered in a dialog (or answered by
    // $ATTNSCOPE_RESTORE_AUTOSAVE=yes|no), applied when accepted, removed either way.
    void offerRestore();
    void buildLessonMenu(QMenu* menu);
    void saveLessonStepDialog();

    const Mode mode_;
    EngineWorker* worker_ = nullptr;
    AnalysisController* controller_ = nullptr;
    ContextEditor* editor_ = nullptr;
    AnalysisViews* views_ = nullptr;
    ViewFeeder* feeder_ = nullptr;
    MethodToolbar* methodBar_ = nullptr;
    SelectionToolbar* selectionBar_ = nullptr;
    JobStatusBar* statusBar_ = nullptr;
    SessionDocument* document_ = nullptr;
    FigureExporter* exporter_ = nullptr;
    DockLayout* docks_ = nullptr;
    FileCommands* files_ = nullptr;
    Autosave* autosave_ = nullptr;
    QStackedWidget* central_ = nullptr;
    EmptyState* emptyState_ = nullptr;
    LessonPlayer* lesson_ = nullptr;
    ViewPanel* enlarged_ = nullptr;  // a docked view shown in the centre

    QMenu* viewMenu_ = nullptr;
    QAction* actRunSweep_ = nullptr;
    QAction* actPresentation_ = nullptr;

    bool presentation_ = false;
    QFont baseFont_;
    QTimer contextDebounce_;
    QString lastModelError_;
    QString sessionModel_;  // the model an opened session asked for (resolved)
};

}  // namespace attnscope::gui
