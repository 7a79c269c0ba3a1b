#pragma once
// The attnscope main window: the context editor dock, the method and selection toolbars, the
// linked views (attention map in the centre; context text, layer×head grid, entropy by layer,
// entropy along the sequence and the P sweep in docks), menus, sessions, export, and the
// empty state shown while no model is open.
#include <QElapsedTimer>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <memory>

#include "analysis_controller.h"
#include "app_state.h"
#include "heatmap_data.h"

class QAction;
class QActionGroup;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QToolButton;
class QVBoxLayout;

namespace attnscope::widgets {
class AttentionHeatmap;
class ContextView;
class EntropyByLayerPlot;
class EntropySequencePlot;
class FigureView;
class LayerHeadGrid;
class SweepPlot;
}  // namespace attnscope::widgets

namespace attnscope::gui {

class ContextEditor;
class EngineWorker;
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
    // cannot be read (the window stays usable).
    bool start(const StartupOptions& options, QString* error = nullptr);

    AnalysisController* controller() const { return controller_; }
    EngineWorker* worker() const { return worker_; }
    ContextEditor* contextEditor() const { return editor_; }
    widgets::AttentionHeatmap* heatmap() const { return heatmap_; }
    widgets::EntropyByLayerPlot* entropyByLayer() const { return byLayer_; }
    widgets::LayerHeadGrid* layerHeadGrid() const { return grid_; }
    widgets::EntropySequencePlot* sequencePlot() const { return sequence_; }
    widgets::SweepPlot* sweepPlot() const { return sweep_; }
    widgets::ContextView* contextView() const { return contextView_; }
    QList<ViewPanel*> panels() const { return panels_; }
    ViewPanel* panel(const QString& key) const;

    // ---- files (interactive variants show dialogs; these return errors)
    void openModel(const QString& path);
    bool openContextFile(const QString& path, QString* error = nullptr);
    bool openSessionFile(const QString& path, QString* error = nullptr);
    bool saveSessionFile(const QString& path, QString* error = nullptr);
    // Opens whatever `path` is: a session, a context (.json/.txt), a model (.gguf / HF folder).
    bool openAnyFile(const QString& path, QString* error = nullptr);
    SessionState sessionState() const;
    // Applies a validated session (the model is opened if it differs from the current one).
    void applySessionState(const SessionState& state);
    QString sessionPath() const { return sessionPath_; }
    bool isDirty() const;

    // ---- method and selection
    MethodSettings method() const { return controller_->method(); }
    void setMethod(const MethodSettings& method);
    void setSelection(const ViewSelection& selection);
    QAction* sinkAction() const { return actSink_; }
    QAction* selectiveAction() const { return actSelective_; }
    QAction* fullAction() const { return actFull_; }
    QAction* parallelAction() const { return actParallel_; }

    // ---- export
    bool exportPanel(ViewPanel* panel, const QString& path, QString* error = nullptr);
    // Every view as PNG/SVG/PDF + its data (CSV/JSON), plus analysis.json, entropy.csv,
    // context.json (and sweep.csv/json when a sweep has run) into `dir`. Figures have the size the
    // views have on screen, or with `atExportSize` each view's export size (headless export).
    bool exportFigureSet(const QString& dir, QString* error = nullptr, double pngScale = 2.0, bool atExportSize = false);

    // ---- readiness (tests, the benchmark and headless export wait on these)
    // The current result is shown everywhere, with its attention-map tile and token shading.
    bool isSettled() const;
    // Settled, the method comparison is in, and no sweep is running.
    bool isComplete() const;
    // Spins the event loop until isSettled() (or isComplete()); false on timeout or error.
    bool waitForSettled(int timeoutMs, bool complete = false);

    void setPresentationMode(bool on);
    bool presentationMode() const { return presentation_; }
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
    // construction
    void buildActions();
    void buildMenus();
    void buildToolbars();
    void buildViews();
    void buildDocks();
    void applyDefaultDockSizes();
    void buildStatusBar();
    QWidget* buildEmptyState();
    void setEmptyText(const QString& text);   // the empty state's explanation (word-wrapped)
    void connectController();

    // interactive commands
    void openModelDialog();
    void openModelFolderDialog();
    void openFileDialog();
    void loadContextDialog();
    void saveContextDialog();
    bool saveSession();
    bool saveSessionAs();
    void exportCurrentViewDialog();
    void exportPanelDialog(ViewPanel* panel, const QString& format);
    void exportFigureSetDialog();
    void exportAnalysisDataDialog();
    void splitTextDialog(const QString& initialText = {});
    void showAbout();
    void showError(const QString& title, const QString& message);
    bool maybeSave();
    void updateRecentMenus();
    void updateTitle();
    void markClean();

    // method/selection controls
    MethodSettings methodFromControls() const;
    void syncMethodControls();
    void syncSelectionControls();
    void stepLayer(int delta);
    void stepHead(int delta);
    void zoomHeatmap(double factor);

    // views
    void onModelLoadStarted(const QString& path);
    void onModelLoaded();
    void onModelFailed(const QString& path, const QString& message);
    void onCurrentChanged();
    void onMethodsChanged();
    void onSelectionChanged();
    void onSweepChanged();
    void showNoResult(const QString& text, bool isError);
    void updateHeatmapWindow(bool resetZoom);
    void requestOverviewTile();
    void updateSequencePlot();
    void updateContextView();
    void updateStatusSummary();
    void checkSettled();
    ViewPanel* currentPanel() const;

    // progress
    void onJobStarted(int tag, quint64 generation, const QString& label);
    void onJobProgress(int tag, quint64 generation, int done, int total);
    void onJobFinished(int tag, quint64 generation);
    void updateProgressWidgets();

    const Mode mode_;
    EngineWorker* worker_ = nullptr;
    AnalysisController* controller_ = nullptr;

    // views
    ContextEditor* editor_ = nullptr;
    widgets::AttentionHeatmap* heatmap_ = nullptr;
    widgets::EntropyByLayerPlot* byLayer_ = nullptr;
    widgets::LayerHeadGrid* grid_ = nullptr;
    widgets::EntropySequencePlot* sequence_ = nullptr;
    widgets::SweepPlot* sweep_ = nullptr;
    widgets::ContextView* contextView_ = nullptr;
    QList<ViewPanel*> panels_;
    QStackedWidget* central_ = nullptr;
    QWidget* emptyState_ = nullptr;
    QLabel* emptyTitle_ = nullptr;
    QLabel* emptyText_ = nullptr;
    QVBoxLayout* emptyRecent_ = nullptr;
    QPointer<ViewPanel> lastPanel_;

    // heatmap panel controls
    QComboBox* rowsCombo_ = nullptr;
    QCheckBox* logCheck_ = nullptr;
    QLabel* hoverLabel_ = nullptr;
    // context view / sequence / sweep controls
    QCheckBox* contextLogCheck_ = nullptr;
    QSpinBox* smoothingSpin_ = nullptr;
    QLineEdit* sweepParts_ = nullptr;
    QSpinBox* sweepQuery_ = nullptr;
    QPushButton* sweepRun_ = nullptr;
    QLabel* sweepStatus_ = nullptr;

    // actions
    QAction *actOpen_ = nullptr, *actOpenModel_ = nullptr, *actOpenFolder_ = nullptr, *actLoadContext_ = nullptr,
            *actSaveContext_ = nullptr, *actSave_ = nullptr, *actSaveAs_ = nullptr, *actExportView_ = nullptr,
            *actExportSet_ = nullptr, *actExportData_ = nullptr, *actQuit_ = nullptr;
    QAction *actUndo_ = nullptr, *actAddChunk_ = nullptr, *actSplit_ = nullptr;
    QAction *actFull_ = nullptr, *actParallel_ = nullptr, *actSink_ = nullptr, *actSelective_ = nullptr;
    QAction *actZoomIn_ = nullptr, *actZoomOut_ = nullptr, *actZoomReset_ = nullptr, *actNextLayer_ = nullptr,
            *actPrevLayer_ = nullptr, *actNextHead_ = nullptr, *actPrevHead_ = nullptr, *actNextQuery_ = nullptr,
            *actPrevQuery_ = nullptr, *actPresentation_ = nullptr, *actFullScreen_ = nullptr;
    QAction *actRunSweep_ = nullptr, *actCancel_ = nullptr;
    QActionGroup* modeGroup_ = nullptr;
    QMenu* recentModelsMenu_ = nullptr;
    QMenu* recentFilesMenu_ = nullptr;
    QMenu* viewMenu_ = nullptr;
    QMenu* scaleMenu_ = nullptr;

    // method toolbar widgets
    QSpinBox* kSpin_ = nullptr;
    QSpinBox* topNSpin_ = nullptr;
    QComboBox* aggregationCombo_ = nullptr;
    QComboBox* positionsCombo_ = nullptr;
    QComboBox* bosCombo_ = nullptr;
    // selection toolbar widgets
    QSpinBox* layerSpin_ = nullptr;
    QComboBox* headCombo_ = nullptr;
    QComboBox* queryCombo_ = nullptr;
    bool syncing_ = false;

    // status bar
    QLabel* resultLabel_ = nullptr;
    QLabel* modelLabel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QToolButton* cancelButton_ = nullptr;
    QTimer progressDelay_;
    struct RunningJob {
        int tag;
        quint64 generation;
        QString label;
        qint64 startedMs;
        int done = 0, total = 0;
    };
    QList<RunningJob> running_;
    QElapsedTimer clock_;

    // state
    QString sessionPath_;
    SessionState cleanState_;      // what was last saved/opened: context, method, model
    bool presentation_ = false;
    QByteArray layoutBeforePresentation_;   // dock layout to restore when presentation mode ends
    QFont baseFont_;
    QTimer contextDebounce_;
    bool interactiveModelOpen_ = false;   // show a dialog if this model fails
    QString lastModelError_;

    // what is shown (for isSettled)
    BundlePtr shown_;
    widgets::TokenAxisInfo axisInfo_;
    bool overviewPending_ = false;
    bool attentionPending_ = false;
    struct TileKey {
        int layer = 0, head = -1, rowBegin = 0, rowEnd = 0, colBegin = 0, colEnd = 0;
        bool operator==(const TileKey&) const = default;
    };
    TileKey overviewKey_;
    bool wasSettled_ = false;
    bool layoutApplied_ = false;    // the first show has happened
    bool layoutRestored_ = false;   // the dock layout came from the settings
};

}  // namespace attnscope::gui
