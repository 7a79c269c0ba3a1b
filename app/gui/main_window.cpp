// MainWindow: the layout (menus, toolbars, the attention map in the centre, docks) and the routes
// between the parts. Start-up, files and the session state are in main_window_files.cpp.
#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMenuBar>
#include <QScreen>
#include <QShowEvent>
#include <QStackedWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include "analysis_views.h"
#include "attention_heatmap.h"
#include "autosave.h"
#include "context_editor.h"
#include "dock_layout.h"
#include "empty_state.h"
#include "engine_worker.h"
#include "figure_exporter.h"
#include "file_commands.h"
#include "job_status_bar.h"
#include "lesson_player.h"
#include "method_toolbar.h"
#include "selection_toolbar.h"
#include "session_document.h"
#include "settings.h"
#include "ui_helpers.h"
#include "view_feeder.h"
#include "view_panel.h"

namespace attnscope::gui {

MainWindow::MainWindow(Mode mode, QWidget* parent) : QMainWindow(parent), mode_(mode) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(appIcon(QStringLiteral("attnscope")));
    setAcceptDrops(true);
    setDockNestingEnabled(true);
    baseFont_ = QApplication::font();

    worker_ = new EngineWorker(this);
    controller_ = new AnalysisController(worker_, this);
    editor_ = new ContextEditor(this);
    editor_->setObjectName(QStringLiteral("contextEditor"));
    views_ = new AnalysisViews(this);
    feeder_ = new ViewFeeder(controller_, views_, this);
    statusBar_ = new JobStatusBar(controller_, this);
    setStatusBar(statusBar_);
    document_ = new SessionDocument(this, interactive(),
                                    {[this] { return sessionState(); }, [this] { return essentials(); },
                                     [this](const SessionState& s) { applySessionState(s); }});
    exporter_ = new FigureExporter(this, interactive(), controller_, views_, editor_);
    files_ = new FileCommands(this, interactive(), document_, exporter_, views_);
    if (interactive()) autosave_ = new Autosave([this] { return sessionState(); }, this);

    central_ = new QStackedWidget(this);  // the attention map, or the empty state while no model is open
    emptyState_ = new EmptyState;
    central_->addWidget(emptyState_);
    central_->addWidget(views_->panel(panels::kAttentionMap));
    central_->setObjectName(QStringLiteral("viewStack"));
    lesson_ = new LessonPlayer(this);
    auto* centre = new QWidget;  // the views, and a lesson's caption under them
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    centreLayout->setSpacing(0);
    centreLayout->addWidget(central_, 1);
    centreLayout->addWidget(lesson_->bar());
    setCentralWidget(centre);

    buildMenus();
    buildToolbars();
    docks_ = new DockLayout(this, viewMenu_, editor_, views_);
    connectParts();

    resize(1440, 900);
    if (QScreen* screen = QGuiApplication::primaryScreen(); screen && interactive()) {
        const QRect avail = screen->availableGeometry();
        resize(avail.size().boundedTo(QSize(1920, 1200)) * 0.96);
        move(avail.center() - rect().center());
    }
    if (interactive()) {
        const QByteArray geometry = Settings::windowGeometry();
        if (!geometry.isEmpty()) restoreGeometry(geometry);
        const QByteArray state = Settings::windowState();
        if (!state.isEmpty()) docks_->restore(state);
    }
    methodBar_->setSettings(controller_->method());
    syncSelection();
    feeder_->showNoResult(tr("Open a model to start."), false);
    document_->updateTitle();
}

MainWindow::~MainWindow() {
    if (autosave_) autosave_->finish();                   // a clean exit leaves nothing to restore
    if (presentation_) QApplication::setFont(baseFont_);  // the application's font is shared
    controller_->cancelAll();
    // Release every result before the engine (and its backend) goes away; the worker, a child of
    // this window, then joins its thread and closes the session.
    feeder_->releaseResult();
    delete controller_;
    controller_ = nullptr;
}

QAction* MainWindow::sinkAction() const { return methodBar_->sinkAction(); }
QAction* MainWindow::selectiveAction() const { return methodBar_->selectiveAction(); }
QAction* MainWindow::fullAction() const { return methodBar_->fullAction(); }
QAction* MainWindow::parallelAction() const { return methodBar_->parallelAction(); }
QString MainWindow::sessionPath() const { return document_->path(); }
bool MainWindow::isDirty() const { return document_->isDirty(); }

// ---------------------------------------------------------------- layout

void MainWindow::buildMenus() {
    QToolBar* fileBar = addToolBar(tr("File"));
    fileBar->setObjectName(QStringLiteral("fileToolbar"));
    files_->buildMenu(menuBar()->addMenu(tr("&File")), fileBar);
    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo =
        addCommand(this, edit, tr("&Undo Context Change"), QKeySequence::Undo, nullptr, [this] { editor_->undo(); });
    undo->setEnabled(false);
    connect(editor_, &ContextEditor::undoAvailable, undo, &QAction::setEnabled);
    edit->addSeparator();
    addCommand(this, edit, tr("&Add Chunk"), QKeySequence(tr("Ctrl+Shift+N")), "add", [this] { editor_->addChunk(); });
    addCommand(this, edit, tr("&Split Text into Chunks…"), QKeySequence(tr("Ctrl+Shift+T")), "split",
               [this] { editor_->splitText(); });

    methodBar_ = new MethodToolbar(this);
    QMenu* method = menuBar()->addMenu(tr("&Method"));
    method->addActions({methodBar_->fullAction(), methodBar_->parallelAction()});
    method->addSeparator();
    method->addActions({methodBar_->sinkAction(), methodBar_->selectiveAction()});

    selectionBar_ = new SelectionToolbar(this);
    viewMenu_ = menuBar()->addMenu(tr("&View"));
    addCommand(this, viewMenu_, tr("Zoom &In"), QKeySequence::ZoomIn, "zoom-in",
               [this] { views_->zoomAttentionMap(0.5); });
    addCommand(this, viewMenu_, tr("Zoom &Out"), QKeySequence::ZoomOut, "zoom-out",
               [this] { views_->zoomAttentionMap(2.0); });
    addCommand(this, viewMenu_, tr("&Reset Zoom"), QKeySequence(tr("Ctrl+0")), "zoom-reset",
               [this] { heatmap()->resetView(); });
    viewMenu_->addSeparator();
    viewMenu_->addActions(selectionBar_->stepActions());
    viewMenu_->addSeparator();
    actPresentation_ = addCommand(this, viewMenu_, tr("&Presentation Mode"), QKeySequence(tr("F5")), "presentation");
    actPresentation_->setCheckable(true);
    connect(actPresentation_, &QAction::toggled, this, &MainWindow::setPresentationMode);
    QAction* fullScreen = addCommand(this, viewMenu_, tr("F&ull Screen"), QKeySequence::FullScreen);
    fullScreen->setCheckable(true);
    connect(fullScreen, &QAction::toggled, this, [this](bool on) { on ? showFullScreen() : showNormal(); });
    buildLessonMenu(viewMenu_->addMenu(tr("&Lesson")));
    viewMenu_->addSeparator();  // dock toggles follow (DockLayout)

    QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
    actRunSweep_ =
        addCommand(this, analysis, tr("Run &P Sweep"), QKeySequence(tr("Ctrl+R")), "sweep", [this] { runSweep(); });
    actRunSweep_->setToolTip(tr("Measure entropy and perplexity for P = 1, 2, 4, … chunks of the current text"));
    QAction* cancel =
        addCommand(this, analysis, tr("&Cancel Running Work"), QKeySequence(Qt::Key_Escape), nullptr, [this] {
            if (controller_->modelLoading()) controller_->cancelModelLoad();
            if (controller_->sweepRunning()) controller_->cancelSweep();
        });
    cancel->setShortcutContext(Qt::WindowShortcut);
    addAction(cancel);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About attnscope"), this, [this] { showAboutBox(this); });
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::buildToolbars() {
    addToolBar(methodBar_);  // after the file toolbar (buildMenus)
    addToolBarBreak();
    addToolBar(selectionBar_);
    selectionBar_->addSeparator();
    selectionBar_->addAction(actRunSweep_);
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    docks_->windowShown();
}

void MainWindow::setPresentationMode(bool on) {
    if (actPresentation_->isChecked() != on) actPresentation_->setChecked(on);  // re-enters via toggled()
    if (on == presentation_) return;
    presentation_ = on;
    QFont f = baseFont_;
    if (on) f.setPointSizeF(baseFont_.pointSizeF() * 1.35);
    QApplication::setFont(f);
    for (ViewPanel* p : panels()) p->view()->setPresentationMode(on);
    for (QToolBar* tb : findChildren<QToolBar*>()) tb->setIconSize(on ? QSize(28, 28) : QSize(20, 20));
    docks_->setPresentation(on);
    for (ViewPanel* p : panels()) p->updateForm();  // larger text needs more room to be readable
}

// ---------------------------------------------------------------- routes

void MainWindow::connectParts() {
    connect(feeder_, &ViewFeeder::settled, this, &MainWindow::settled);
    connect(controller_, &AnalysisController::modelLoadStarted, this, [this](const QString& path) {
        if (!controller_->hasModel())
            emptyState_->setMessage(tr("Loading %1…").arg(QFileInfo(path).fileName()),
                                    tr("Reading the model in the background. Press Esc to cancel."));
    });
    connect(controller_, &AnalysisController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(controller_, &AnalysisController::modelFailed, this, &MainWindow::onModelFailed);
    connect(controller_, &AnalysisController::modelLoadCancelled, this, [this](const QString& path) {
        if (controller_->hasModel()) return;  // the model we had stays, with its results
        emptyState_->setMessage(tr("Loading %1 was cancelled").arg(QFileInfo(path).fileName()),
                                tr("Open a GGUF file or a Hugging Face folder to start. Your context is kept."));
    });
    // A new result changes the choices (its query tokens); a new selection only the selection.
    connect(controller_, &AnalysisController::currentChanged, this, &MainWindow::syncSelection);
    connect(controller_, &AnalysisController::selectionChanged, this,
            [this] { selectionBar_->setSelection(controller_->selection()); });
    connect(controller_, &AnalysisController::sweepChanged, this,
            [this] { actRunSweep_->setEnabled(!controller_->sweepRunning() && controller_->hasModel()); });

    connect(methodBar_, &MethodToolbar::settingsChanged, this, &MainWindow::setMethod);
    connect(selectionBar_, &SelectionToolbar::selectionChanged, this, &MainWindow::setSelection);
    connect(views_, &AnalysisViews::exportRequested, exporter_, &FigureExporter::exportPanelDialog);
    connect(views_, &AnalysisViews::sweepButtonClicked, this, [this] {
        if (controller_->sweepRunning()) controller_->cancelSweep();
        else actRunSweep_->trigger();
    });

    contextDebounce_.setSingleShot(true);
    contextDebounce_.setInterval(250);
    connect(&contextDebounce_, &QTimer::timeout, this, [this] {
        controller_->setContext(editor_->context());
        document_->updateTitle();
    });
    connect(editor_, &ContextEditor::contextEdited, this, [this] {
        contextDebounce_.start();
        document_->updateTitle();
    });
    connect(editor_, &ContextEditor::sinkToggled, this, [this](bool on) {
        MethodSettings m = controller_->method();
        m.sink = on;
        setMethod(m);
    });

    for (ViewPanel* p : panels())  // a compact view, clicked: the view at a readable size
        connect(p, &ViewPanel::enlargeRequested, docks_, [this, p] { docks_->floatEnlarged(p); });

    connect(emptyState_, &EmptyState::openModelClicked, files_, &FileCommands::openModelDialog);
    connect(emptyState_, &EmptyState::openFolderClicked, files_, &FileCommands::openModelFolderDialog);
    connect(emptyState_, &EmptyState::recentModelClicked, this, [this](const QString& path) { openModel(path); });
    connect(document_, &SessionDocument::recentChanged, this,
            [this] { emptyState_->setRecentModels(Settings::recentModels()); });
    emptyState_->setRecentModels(Settings::recentModels());
}

void MainWindow::setMethod(const MethodSettings& method) {
    controller_->setMethod(method);
    methodBar_->setSettings(controller_->method());
    editor_->setSinkEnabled(controller_->method().sink);
    document_->updateTitle();
}

void MainWindow::syncSelection() {
    QStringList queryTokens;
    if (BundlePtr b = controller_->current())
        for (int q = 0; q < b->plan.queryCount(); ++q) queryTokens << b->tokenTexts.value(b->plan.queryBegin + q);
    selectionBar_->setChoices(controller_->model().layers, controller_->model().heads, queryTokens);
    selectionBar_->setSelection(controller_->selection());
}

void MainWindow::onModelLoaded() {
    central_->setCurrentWidget(enlarged_ ? static_cast<QWidget*>(enlarged_) : views_->panel(panels::kAttentionMap));
    editor_->setTokenizer(controller_->tokenizer());
    document_->addRecentModel(controller_->model().path);
    syncSelection();
    // Flush a pending edit so the first analysis sees the editor's text.
    if (contextDebounce_.isActive()) {
        contextDebounce_.stop();
        controller_->setContext(editor_->context());
    }
    document_->updateTitle();
}

void MainWindow::onModelFailed(const QString& path, const QString& message) {
    const QString file = QFileInfo(path).fileName();
    lastModelError_ = message.contains(file) ? message : tr("%1: %2").arg(path, message);
    if (path == sessionModel_ && !document_->path().isEmpty())  // the session's model: name the session too
        lastModelError_ = tr("%1: its model cannot be opened: %2").arg(document_->path(), lastModelError_);
    if (!controller_->hasModel()) {
        central_->setCurrentWidget(emptyState_);
        emptyState_->setMessage(
            tr("Could not open %1").arg(file.isEmpty() ? path : file),
            tr("%1\n\nOpen another GGUF file or Hugging Face folder. Your context is kept.").arg(message));
        feeder_->showNoResult(tr("Open a model to start."), false);
    }
    // Headless windows report through lastError() (one line from the caller), never a log line.
    if (interactive()) showError(this, true, tr("Cannot Open Model"), lastModelError_);
}

void MainWindow::runSweep() {
    const SweepSettings s = views_->sweepSettings();
    if (s.parts.isEmpty()) {
        showError(this, interactive(), tr("P Sweep"), tr("Enter the numbers of chunks to try, e.g. “1, 2, 4, 8, 16”."));
        return;
    }
    docks_->dock("sweepDock")->raise();
    controller_->runSweep(s);
}

// ---------------------------------------------------------------- readiness

QString MainWindow::lastError() const {
    if (!controller_->hasModel() && !lastModelError_.isEmpty()) return lastModelError_;
    return controller_->currentError();
}

bool MainWindow::isSettled() const { return !contextDebounce_.isActive() && feeder_->isSettled(); }

bool MainWindow::isComplete() const {
    return isSettled() && (controller_->methodsReady() || !controller_->current()) && !controller_->sweepRunning();
}

bool MainWindow::waitForSettled(int timeoutMs, bool complete) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        if (complete ? isComplete() : isSettled()) return controller_->current() != nullptr;
        if (!controller_->modelLoading() && !controller_->hasModel()) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 20);
    }
    return false;
}

}  // namespace attnscope::gui
