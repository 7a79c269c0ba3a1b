// MainWindow: construction (actions, menus, toolbars, views, docks, status bar) and the method/
// selection controls. Views are updated in main_window_views.cpp; files and export live in
// main_window_files.cpp.
#include "main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QShowEvent>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "attention_heatmap.h"
#include "color_maps.h"
#include "context_editor.h"
#include "context_view.h"
#include "engine_worker.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "legend_fit.h"
#include "resources.h"
#include "settings.h"
#include "sweep_plot.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

QIcon icon(const char* name) { return QIcon(QStringLiteral(":/icons/%1.svg").arg(QLatin1String(name))); }

QLabel* toolbarLabel(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    l->setContentsMargins(6, 0, 2, 0);
    return l;
}

}  // namespace

MainWindow::MainWindow(Mode mode, QWidget* parent) : QMainWindow(parent), mode_(mode) {
    ensureResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/attnscope.svg")));
    setAcceptDrops(true);
    setDockNestingEnabled(true);
    clock_.start();
    baseFont_ = QApplication::font();

    worker_ = new EngineWorker(this);
    controller_ = new AnalysisController(worker_, this);

    buildViews();
    buildActions();
    buildMenus();
    buildToolbars();
    buildDocks();
    buildStatusBar();
    connectController();

    contextDebounce_.setSingleShot(true);
    contextDebounce_.setInterval(250);
    connect(&contextDebounce_, &QTimer::timeout, this, [this] {
        controller_->setContext(editor_->context());
        updateTitle();
    });

    progressDelay_.setSingleShot(true);
    progressDelay_.setInterval(300);
    connect(&progressDelay_, &QTimer::timeout, this, &MainWindow::updateProgressWidgets);

    connect(qApp, &QApplication::focusChanged, this, [this](QWidget*, QWidget* now) {
        for (QWidget* w = now; w; w = w->parentWidget())
            if (auto* p = qobject_cast<ViewPanel*>(w)) {
                lastPanel_ = p;
                break;
            }
    });

    resize(1440, 900);
    if (QScreen* screen = QGuiApplication::primaryScreen(); screen && mode_ == Mode::Interactive) {
        const QRect avail = screen->availableGeometry();
        resize(avail.size().boundedTo(QSize(1920, 1200)) * 0.96);
        move(avail.center() - rect().center());
    }
    if (mode_ == Mode::Interactive) {
        const QByteArray geometry = Settings::windowGeometry();
        if (!geometry.isEmpty()) restoreGeometry(geometry);
        const QByteArray state = Settings::windowState();
        if (!state.isEmpty()) layoutRestored_ = restoreState(state);
    }
    syncMethodControls();
    syncSelectionControls();
    showNoResult(tr("Open a model to start."), false);
    updateRecentMenus();
    updateTitle();
}

MainWindow::~MainWindow() {
    controller_->cancelAll();
    // Release every result before the engine (and its backend) goes away; the worker, a child of
    // this window, then joins its thread and closes the session.
    shown_.reset();
    delete controller_;
    controller_ = nullptr;
}

ViewPanel* MainWindow::panel(const QString& key) const {
    for (ViewPanel* p : panels_)
        if (p->key() == key) return p;
    return nullptr;
}

// ---------------------------------------------------------------- construction

void MainWindow::buildViews() {
    editor_ = new ContextEditor(this);
    editor_->setObjectName(QStringLiteral("contextEditor"));

    heatmap_ = new widgets::AttentionHeatmap;
    byLayer_ = new widgets::EntropyByLayerPlot;
    grid_ = new widgets::LayerHeadGrid;
    sequence_ = new widgets::EntropySequencePlot;
    sweep_ = new widgets::SweepPlot;
    contextView_ = new widgets::ContextView;

    // Legends reflow into more rows when a dock is narrow (never clipped).
    LegendFitter::install(byLayer_->plot(), 3);
    LegendFitter::install(sweep_->plot(), 5);
    LegendFitter::install(sequence_->plot(), 2);

    heatmap_->setExportSize({900, 820});
    byLayer_->setExportSize({720, 480});
    grid_->setExportSize({640, 480});
    sequence_->setExportSize({1000, 420});
    sweep_->setExportSize({1000, 440});
    contextView_->setExportSize({900, 700});

    auto* heatmapPanel = new ViewPanel(QStringLiteral("attention_map"), tr("Attention map"), heatmap_);
    panels_ << heatmapPanel;
    panels_ << new ViewPanel(QStringLiteral("context_text"), tr("Context text"), contextView_);
    panels_ << new ViewPanel(QStringLiteral("layer_head_grid"), tr("Entropy per layer and head"), grid_);
    panels_ << new ViewPanel(QStringLiteral("entropy_by_layer"), tr("Query entropy by layer"), byLayer_);
    panels_ << new ViewPanel(QStringLiteral("entropy_sequence"), tr("Entropy along the sequence"), sequence_);
    panels_ << new ViewPanel(QStringLiteral("p_sweep"), tr("P sweep"), sweep_);
    for (ViewPanel* p : panels_)
        connect(p, &ViewPanel::exportRequested, this, [this, p](const QString& fmt) { exportPanelDialog(p, fmt); });

    // Attention map controls.
    rowsCombo_ = new QComboBox;
    rowsCombo_->addItem(tr("Rows: all tokens"));
    rowsCombo_->addItem(tr("Rows: query tokens"));
    rowsCombo_->setToolTip(tr("Which attending tokens the map shows as rows"));
    logCheck_ = new QCheckBox(tr("Log scale"));
    logCheck_->setChecked(true);   // attention is heavy-tailed: the log scale shows the structure
    heatmap_->setLogScale(true);
    auto* resetZoom = new QToolButton;
    resetZoom->setIcon(icon("zoom-reset"));
    resetZoom->setToolTip(tr("Show the whole map (Ctrl+0)"));
    resetZoom->setAutoRaise(true);
    hoverLabel_ = new QLabel;
    hoverLabel_->setForegroundRole(QPalette::PlaceholderText);
    hoverLabel_->setMinimumWidth(60);
    heatmapPanel->addControl(rowsCombo_);
    heatmapPanel->addControl(logCheck_);
    heatmapPanel->addControl(resetZoom);
    heatmapPanel->addControl(hoverLabel_);
    heatmapPanel->addStretch();
    connect(rowsCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (syncing_) return;
        ViewSelection s = controller_->selection();
        s.allTokenRows = i == 0;
        setSelection(s);
    });
    connect(logCheck_, &QCheckBox::toggled, this, [this](bool on) { heatmap_->setLogScale(on); });
    connect(resetZoom, &QToolButton::clicked, this, [this] { heatmap_->resetView(); });

    // Context view controls.
    contextLogCheck_ = new QCheckBox(tr("Log shading"));
    panel(QStringLiteral("context_text"))->addControl(contextLogCheck_);
    panel(QStringLiteral("context_text"))->addStretch();
    connect(contextLogCheck_, &QCheckBox::toggled, this, [this](bool on) { contextView_->setLogScale(on); });

    // Sequence plot controls.
    smoothingSpin_ = new QSpinBox;
    smoothingSpin_->setRange(0, 64);
    smoothingSpin_->setPrefix(tr("Smoothing: "));
    smoothingSpin_->setSuffix(tr(" tokens"));
    smoothingSpin_->setSpecialValueText(tr("Smoothing: off"));
    panel(QStringLiteral("entropy_sequence"))->addControl(smoothingSpin_);
    panel(QStringLiteral("entropy_sequence"))->addStretch();
    connect(smoothingSpin_, &QSpinBox::valueChanged, this, [this](int w) { sequence_->setSmoothing(w); });

    // Sweep controls.
    auto* sweepPanel = panel(QStringLiteral("p_sweep"));
    sweepParts_ = new QLineEdit(QStringLiteral("1, 2, 4, 8, 16"));
    sweepParts_->setToolTip(tr("Numbers of chunks P to try, separated by commas"));
    sweepParts_->setMaximumWidth(140);
    sweepQuery_ = new QSpinBox;
    sweepQuery_->setRange(0, 4096);
    sweepQuery_->setValue(0);
    sweepQuery_->setPrefix(tr("query: last "));
    sweepQuery_->setSuffix(tr(" tokens"));
    sweepQuery_->setSpecialValueText(tr("query: as written"));
    sweepQuery_->setToolTip(tr("The sweep joins the chunks and the query into one text, keeps its last N tokens as the "
                               "query and splits the rest into P equal chunks. “As written”: N = your query's tokens."));
    sweepRun_ = new QPushButton(tr("Run sweep"));
    sweepStatus_ = new QLabel;
    sweepStatus_->setForegroundRole(QPalette::PlaceholderText);
    sweepPanel->addControl(toolbarLabel(tr("P:"), sweepPanel));
    sweepPanel->addControl(sweepParts_);
    sweepPanel->addControl(sweepQuery_);
    sweepPanel->addControl(sweepRun_);
    sweepPanel->addControl(sweepStatus_);
    sweepPanel->addStretch();
    connect(sweepRun_, &QPushButton::clicked, this, [this] {
        if (controller_->sweepRunning()) controller_->cancelSweep();
        else actRunSweep_->trigger();
    });

    // Central area: the attention map, or the empty state while no model is open.
    central_ = new QStackedWidget(this);
    emptyState_ = buildEmptyState();
    central_->addWidget(emptyState_);
    central_->addWidget(heatmapPanel);
    central_->setCurrentWidget(emptyState_);
    setCentralWidget(central_);

    // Links between views.
    connect(grid_, &widgets::LayerHeadGrid::headSelected, this, [this](int layer, int head) {
        ViewSelection s = controller_->selection();
        s.layer = layer;
        s.head = head;
        setSelection(s);
    });
    connect(contextView_, &widgets::ContextView::queryTokenClicked, this, [this](int q) {
        ViewSelection s = controller_->selection();
        s.queryToken = s.queryToken == q ? -1 : q;   // clicking the selected token again: all tokens
        setSelection(s);
    });
    connect(heatmap_, &widgets::AttentionHeatmap::cellClicked, this, [this](int row, int) {
        BundlePtr b = controller_->current();
        if (!b || row < b->plan.queryBegin) return;
        ViewSelection s = controller_->selection();
        s.queryToken = row - b->plan.queryBegin;
        setSelection(s);
    });
    connect(heatmap_, &widgets::AttentionHeatmap::viewportChanged, this,
            [this](int rb, int re, int cb, int ce, int w, int h) {
                BundlePtr b = controller_->current();
                if (!b || b != shown_) return;
                const TileKey key{controller_->selection().layer, controller_->selection().head, rb, re, cb, ce};
                if (key == overviewKey_) return;   // the overview covers it at full resolution already
                controller_->requestTile(rb, re, cb, ce, std::min(re - rb, std::max(h, 16)), std::min(ce - cb, std::max(w, 16)),
                                         false);
            });
    connect(heatmap_, &widgets::AttentionHeatmap::cellHovered, this, [this](int row, int key, double p) {
        if (row < 0 || key < 0 || std::isnan(p)) {
            hoverLabel_->clear();
            return;
        }
        hoverLabel_->setText(tr("%1 → %2: %3")
                                 .arg(widgets::displayToken(axisInfo_.tokenText(row), 10),
                                      widgets::displayToken(axisInfo_.tokenText(key), 10))
                                 .arg(p, 0, 'g', 3));
    });
}

QWidget* MainWindow::buildEmptyState() {
    auto* w = new QWidget;
    w->setObjectName(QStringLiteral("emptyState"));
    auto* outer = new QVBoxLayout(w);
    outer->addStretch(2);
    auto* box = new QVBoxLayout;
    box->setSpacing(12);
    auto* logo = new QLabel;
    logo->setPixmap(QIcon(QStringLiteral(":/icons/attnscope.svg")).pixmap(72, 72));
    logo->setAlignment(Qt::AlignCenter);
    box->addWidget(logo);
    emptyTitle_ = new QLabel(tr("No model open"));
    QFont tf = emptyTitle_->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.6);
    tf.setBold(true);
    emptyTitle_->setFont(tf);
    emptyTitle_->setAlignment(Qt::AlignCenter);
    box->addWidget(emptyTitle_);
    emptyText_ = new QLabel;
    emptyText_->setWordWrap(true);
    emptyText_->setAlignment(Qt::AlignCenter);
    emptyText_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    emptyText_->setFixedWidth(540);
    setEmptyText(tr("attnscope runs a language model on your context to show how attention spreads when "
                           "the context is split into chunks. Open a GGUF file or a Hugging Face model folder."));
    box->addWidget(emptyText_, 0, Qt::AlignHCenter);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    auto* openModel = new QPushButton(icon("open-model"), tr("Open model…"));
    openModel->setObjectName(QStringLiteral("emptyOpenModel"));
    openModel->setDefault(true);
    auto* openFolder = new QPushButton(tr("Open Hugging Face folder…"));
    buttons->addWidget(openModel);
    buttons->addWidget(openFolder);
    buttons->addStretch();
    box->addLayout(buttons);
    emptyRecent_ = new QVBoxLayout;
    emptyRecent_->setSpacing(2);
    box->addLayout(emptyRecent_);
    outer->addLayout(box);
    outer->addStretch(3);
    connect(openModel, &QPushButton::clicked, this, &MainWindow::openModelDialog);
    connect(openFolder, &QPushButton::clicked, this, &MainWindow::openModelFolderDialog);
    return w;
}

void MainWindow::setEmptyText(const QString& text) {
    emptyText_->setText(text);
    // A word-wrapped label in an aligned layout slot does not grow by itself.
    emptyText_->setMinimumHeight(emptyText_->heightForWidth(emptyText_->width()));
}

void MainWindow::buildActions() {
    auto make = [this](const QString& text, const QKeySequence& key, const char* iconName = nullptr) {
        auto* a = new QAction(text, this);
        if (!key.isEmpty()) a->setShortcut(key);
        if (iconName) a->setIcon(icon(iconName));
        return a;
    };
    actOpen_ = make(tr("&Open…"), QKeySequence::Open, "open");
    actOpen_->setToolTip(tr("Open a session, a context or a model"));
    actOpenModel_ = make(tr("Open &Model…"), QKeySequence(tr("Ctrl+Shift+O")), "open-model");
    actOpenFolder_ = make(tr("Open Hugging Face &Folder…"), {});
    actLoadContext_ = make(tr("&Load Context…"), QKeySequence(tr("Ctrl+L")));
    actSaveContext_ = make(tr("Save &Context As…"), {});
    actSave_ = make(tr("&Save Session"), QKeySequence::Save, "save");
    actSaveAs_ = make(tr("Save Session &As…"), QKeySequence::SaveAs);
    actExportView_ = make(tr("&Export Current View…"), QKeySequence(tr("Ctrl+E")), "export");
    actExportSet_ = make(tr("Export &Figure Set…"), QKeySequence(tr("Ctrl+Shift+E")));
    actExportData_ = make(tr("Export Analysis &Data…"), {});
    actQuit_ = make(tr("&Quit"), QKeySequence::Quit);
    connect(actOpen_, &QAction::triggered, this, &MainWindow::openFileDialog);
    connect(actOpenModel_, &QAction::triggered, this, &MainWindow::openModelDialog);
    connect(actOpenFolder_, &QAction::triggered, this, &MainWindow::openModelFolderDialog);
    connect(actLoadContext_, &QAction::triggered, this, &MainWindow::loadContextDialog);
    connect(actSaveContext_, &QAction::triggered, this, &MainWindow::saveContextDialog);
    connect(actSave_, &QAction::triggered, this, &MainWindow::saveSession);
    connect(actSaveAs_, &QAction::triggered, this, &MainWindow::saveSessionAs);
    connect(actExportView_, &QAction::triggered, this, &MainWindow::exportCurrentViewDialog);
    connect(actExportSet_, &QAction::triggered, this, &MainWindow::exportFigureSetDialog);
    connect(actExportData_, &QAction::triggered, this, &MainWindow::exportAnalysisDataDialog);
    connect(actQuit_, &QAction::triggered, this, &QMainWindow::close);

    actUndo_ = make(tr("&Undo Context Change"), QKeySequence::Undo);
    actUndo_->setEnabled(false);
    actAddChunk_ = make(tr("&Add Chunk"), QKeySequence(tr("Ctrl+Shift+N")), "add");
    actSplit_ = make(tr("&Split Text into Chunks…"), QKeySequence(tr("Ctrl+Shift+T")), "split");
    connect(actUndo_, &QAction::triggered, editor_, &ContextEditor::undo);
    connect(editor_, &ContextEditor::undoAvailable, actUndo_, &QAction::setEnabled);
    connect(actAddChunk_, &QAction::triggered, this, [this] { editor_->addChunk(); });
    connect(actSplit_, &QAction::triggered, this, [this] { splitTextDialog(); });

    // Method: every toggle is one click (or one shortcut).
    modeGroup_ = new QActionGroup(this);
    actFull_ = make(tr("&Full Attention"), QKeySequence(tr("Ctrl+1")), "full");
    actFull_->setToolTip(tr("Full causal attention over the whole context (Ctrl+1)"));
    actParallel_ = make(tr("&Parallel Encoding"), QKeySequence(tr("Ctrl+2")), "parallel");
    actParallel_->setToolTip(tr("Each chunk encoded on its own; the query sees all chunks (Ctrl+2)"));
    for (QAction* a : {actFull_, actParallel_}) {
        a->setCheckable(true);
        modeGroup_->addAction(a);
    }
    actParallel_->setChecked(true);
    actSink_ = make(tr("Attention &Sink"), QKeySequence(tr("Ctrl+3")), "sink");
    actSink_->setCheckable(true);
    actSink_->setToolTip(tr("Share the prefix as an attention sink for every chunk (Ctrl+3)"));
    actSelective_ = make(tr("S&elective Attention"), QKeySequence(tr("Ctrl+4")), "selective");
    actSelective_->setCheckable(true);
    actSelective_->setToolTip(tr("Query tokens attend only to the top-K chunks (Ctrl+4)"));
    auto methodChanged = [this] {
        if (!syncing_) setMethod(methodFromControls());
    };
    for (QAction* a : {actFull_, actParallel_, actSink_, actSelective_}) connect(a, &QAction::triggered, this, methodChanged);

    // View.
    actZoomIn_ = make(tr("Zoom &In"), QKeySequence::ZoomIn, "zoom-in");
    actZoomOut_ = make(tr("Zoom &Out"), QKeySequence::ZoomOut, "zoom-out");
    actZoomReset_ = make(tr("&Reset Zoom"), QKeySequence(tr("Ctrl+0")), "zoom-reset");
    actNextLayer_ = make(tr("&Next Layer"), QKeySequence(tr("Ctrl+]")));
    actPrevLayer_ = make(tr("P&revious Layer"), QKeySequence(tr("Ctrl+[")));
    actNextHead_ = make(tr("Next &Head"), QKeySequence(tr("Alt+]")));
    actPrevHead_ = make(tr("Previous H&ead"), QKeySequence(tr("Alt+[")));
    actNextQuery_ = make(tr("Next &Query Token"), QKeySequence(tr("Ctrl+.")));
    actPrevQuery_ = make(tr("Previous Query &Token"), QKeySequence(tr("Ctrl+,")));
    actPresentation_ = make(tr("&Presentation Mode"), QKeySequence(tr("F5")), "presentation");
    actPresentation_->setCheckable(true);
    actFullScreen_ = make(tr("F&ull Screen"), QKeySequence::FullScreen);
    actFullScreen_->setCheckable(true);
    connect(actZoomIn_, &QAction::triggered, this, [this] { zoomHeatmap(0.5); });
    connect(actZoomOut_, &QAction::triggered, this, [this] { zoomHeatmap(2.0); });
    connect(actZoomReset_, &QAction::triggered, this, [this] { heatmap_->resetView(); });
    connect(actNextLayer_, &QAction::triggered, this, [this] { stepLayer(+1); });
    connect(actPrevLayer_, &QAction::triggered, this, [this] { stepLayer(-1); });
    connect(actNextHead_, &QAction::triggered, this, [this] { stepHead(+1); });
    connect(actPrevHead_, &QAction::triggered, this, [this] { stepHead(-1); });
    auto stepQuery = [this](int d) {
        BundlePtr b = controller_->current();
        if (!b) return;
        const int n = b->plan.queryCount();
        ViewSelection s = controller_->selection();
        // -1 (all) → 0 → … → n-1 → -1
        s.queryToken = ((s.queryToken + 1 + d) % (n + 1) + (n + 1)) % (n + 1) - 1;
        setSelection(s);
    };
    connect(actNextQuery_, &QAction::triggered, this, [stepQuery] { stepQuery(+1); });
    connect(actPrevQuery_, &QAction::triggered, this, [stepQuery] { stepQuery(-1); });
    connect(actPresentation_, &QAction::toggled, this, &MainWindow::setPresentationMode);
    connect(actFullScreen_, &QAction::toggled, this, [this](bool on) {
        if (on) showFullScreen();
        else showNormal();
    });

    actRunSweep_ = make(tr("Run &P Sweep"), QKeySequence(tr("Ctrl+R")), "sweep");
    actRunSweep_->setToolTip(tr("Measure entropy and perplexity for P = 1, 2, 4, … chunks of the current text"));
    connect(actRunSweep_, &QAction::triggered, this, [this] {
        SweepSettings s;
        s.parts.clear();
        for (const QString& part : sweepParts_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int p = part.trimmed().toInt(&ok);
            if (ok && p >= 1 && p <= 4096 && !s.parts.contains(p)) s.parts << p;
        }
        if (s.parts.isEmpty()) {
            showError(tr("P Sweep"), tr("Enter the numbers of chunks to try, e.g. “1, 2, 4, 8, 16”."));
            return;
        }
        std::sort(s.parts.begin(), s.parts.end());
        s.queryTokens = sweepQuery_->value();
        if (auto* dock = findChild<QDockWidget*>(QStringLiteral("sweepDock"))) dock->raise();
        controller_->runSweep(s);
    });
    actCancel_ = make(tr("&Cancel Running Work"), QKeySequence(Qt::Key_Escape));
    actCancel_->setShortcutContext(Qt::WindowShortcut);
    connect(actCancel_, &QAction::triggered, this, [this] {
        if (controller_->modelLoading()) controller_->cancelModelLoad();
        if (controller_->sweepRunning()) controller_->cancelSweep();
    });
    addAction(actCancel_);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(actOpen_);
    recentFilesMenu_ = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    file->addAction(actOpenModel_);
    file->addAction(actOpenFolder_);
    recentModelsMenu_ = file->addMenu(tr("Recent Mo&dels"));
    file->addSeparator();
    file->addAction(actLoadContext_);
    file->addAction(actSaveContext_);
    file->addSeparator();
    file->addAction(actSave_);
    file->addAction(actSaveAs_);
    file->addSeparator();
    file->addAction(actExportView_);
    file->addAction(actExportSet_);
    file->addAction(actExportData_);
    scaleMenu_ = file->addMenu(tr("PNG Export &Scale"));
    auto* scaleGroup = new QActionGroup(this);
    for (double s : {1.0, 2.0, 3.0, 4.0}) {
        QAction* a = scaleMenu_->addAction(tr("%1×").arg(s));
        a->setCheckable(true);
        a->setChecked(qFuzzyCompare(s, Settings::pngScale()));
        scaleGroup->addAction(a);
        connect(a, &QAction::triggered, this, [s] { Settings::setPngScale(s); });
    }
    file->addSeparator();
    file->addAction(actQuit_);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(actUndo_);
    edit->addSeparator();
    edit->addAction(actAddChunk_);
    edit->addAction(actSplit_);

    QMenu* method = menuBar()->addMenu(tr("&Method"));
    method->addAction(actFull_);
    method->addAction(actParallel_);
    method->addSeparator();
    method->addAction(actSink_);
    method->addAction(actSelective_);

    viewMenu_ = menuBar()->addMenu(tr("&View"));
    viewMenu_->addAction(actZoomIn_);
    viewMenu_->addAction(actZoomOut_);
    viewMenu_->addAction(actZoomReset_);
    viewMenu_->addSeparator();
    viewMenu_->addAction(actNextLayer_);
    viewMenu_->addAction(actPrevLayer_);
    viewMenu_->addAction(actNextHead_);
    viewMenu_->addAction(actPrevHead_);
    viewMenu_->addAction(actNextQuery_);
    viewMenu_->addAction(actPrevQuery_);
    viewMenu_->addSeparator();
    viewMenu_->addAction(actPresentation_);
    viewMenu_->addAction(actFullScreen_);
    viewMenu_->addSeparator();   // dock toggles follow (buildDocks)

    QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
    analysis->addAction(actRunSweep_);
    analysis->addAction(actCancel_);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About attnscope"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::buildToolbars() {
    QToolBar* fileBar = addToolBar(tr("File"));
    fileBar->setObjectName(QStringLiteral("fileToolbar"));
    fileBar->addAction(actOpenModel_);
    fileBar->addAction(actOpen_);
    fileBar->addAction(actSave_);
    fileBar->addAction(actExportView_);

    QToolBar* bar = addToolBar(tr("Method"));
    bar->setObjectName(QStringLiteral("methodToolbar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(actFull_);
    bar->addAction(actParallel_);
    bar->addSeparator();
    bar->addAction(actSink_);
    bar->addAction(actSelective_);
    kSpin_ = new QSpinBox(bar);
    kSpin_->setRange(1, 64);
    kSpin_->setPrefix(tr("K = "));
    kSpin_->setToolTip(tr("Selective attention keeps the top K chunks"));
    topNSpin_ = new QSpinBox(bar);
    topNSpin_->setRange(0, 64);
    topNSpin_->setPrefix(tr("score top-"));
    topNSpin_->setSpecialValueText(tr("score: mean"));
    topNSpin_->setToolTip(tr("A chunk's score is the sum of its top-n attention probabilities (0: the mean)"));
    aggregationCombo_ = new QComboBox(bar);
    aggregationCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    aggregationCombo_->addItem(tr("per head & query"), static_cast<int>(SelectAggregation::None));
    aggregationCombo_->addItem(tr("per layer"), static_cast<int>(SelectAggregation::HeadsQueries));
    aggregationCombo_->setToolTip(tr("Select chunks per (head, query token), or once per layer for all heads and "
                                     "query tokens (the paper's RAG/ICL setting)"));
    bar->addWidget(kSpin_);
    bar->addWidget(topNSpin_);
    bar->addWidget(aggregationCombo_);
    bar->addSeparator();
    positionsCombo_ = new QComboBox(bar);
    positionsCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    positionsCombo_->addItem(tr("positions: stretch"), static_cast<int>(PositionPolicy::Stretch));
    positionsCombo_->addItem(tr("positions: restart"), static_cast<int>(PositionPolicy::Restart));
    positionsCombo_->addItem(tr("positions: sequential"), static_cast<int>(PositionPolicy::Sequential));
    positionsCombo_->setToolTip(tr("Rotary position ids of chunk tokens in parallel mode"));
    bosCombo_ = new QComboBox(bar);
    bosCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bosCombo_->addItem(tr("BOS: none"), static_cast<int>(BosPolicy::None));
    bosCombo_->addItem(tr("BOS: shared"), static_cast<int>(BosPolicy::Shared));
    bosCombo_->addItem(tr("BOS: per chunk"), static_cast<int>(BosPolicy::PerChunk));
    bosCombo_->setToolTip(tr("Beginning-of-sequence token: none, one at the very start, or one per chunk"));
    bar->addWidget(positionsCombo_);
    bar->addWidget(bosCombo_);
    auto methodChanged = [this] {
        if (!syncing_) setMethod(methodFromControls());
    };
    connect(kSpin_, &QSpinBox::valueChanged, this, methodChanged);
    connect(topNSpin_, &QSpinBox::valueChanged, this, methodChanged);
    for (QComboBox* c : {aggregationCombo_, positionsCombo_, bosCombo_})
        connect(c, &QComboBox::currentIndexChanged, this, methodChanged);

    addToolBarBreak();
    QToolBar* sel = addToolBar(tr("Selection"));
    sel->setObjectName(QStringLiteral("selectionToolbar"));
    layerSpin_ = new QSpinBox(sel);
    layerSpin_->setObjectName(QStringLiteral("layerSpin"));
    layerSpin_->setPrefix(tr("Layer "));
    layerSpin_->setRange(0, 0);
    layerSpin_->setWrapping(true);
    layerSpin_->setToolTip(tr("Layer shown by the attention map, grid, sequence plot and context text "
                              "(Ctrl+] / Ctrl+[)"));
    headCombo_ = new QComboBox(sel);
    headCombo_->setObjectName(QStringLiteral("headCombo"));
    headCombo_->setToolTip(tr("Head, or the mean over heads (Alt+] / Alt+[)"));
    headCombo_->setMinimumContentsLength(12);
    queryCombo_ = new QComboBox(sel);
    queryCombo_->setObjectName(QStringLiteral("queryCombo"));
    queryCombo_->setToolTip(tr("Query token whose attention shades the context text (Ctrl+. / Ctrl+,)"));
    queryCombo_->setMinimumContentsLength(22);
    queryCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    sel->addWidget(toolbarLabel(tr("Show"), sel));
    sel->addWidget(layerSpin_);
    sel->addWidget(headCombo_);
    sel->addWidget(toolbarLabel(tr("Query token"), sel));
    sel->addWidget(queryCombo_);
    sel->addSeparator();
    sel->addAction(actRunSweep_);
    connect(layerSpin_, &QSpinBox::valueChanged, this, [this](int layer) {
        if (syncing_) return;
        ViewSelection s = controller_->selection();
        s.layer = layer;
        setSelection(s);
    });
    connect(headCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (syncing_ || i < 0) return;
        ViewSelection s = controller_->selection();
        s.head = i - 1;
        setSelection(s);
    });
    connect(queryCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (syncing_ || i < 0) return;
        ViewSelection s = controller_->selection();
        s.queryToken = i - 1;
        setSelection(s);
    });
}

void MainWindow::buildDocks() {
    auto dock = [this](const QString& name, const QString& title, QWidget* w, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(w);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
        addDockWidget(area, d);
        viewMenu_->addAction(d->toggleViewAction());
        return d;
    };
    // Left: the context. Centre: the attention map. Right: layer × head over entropy by layer.
    // Bottom: the context text beside the sequence plot (tabbed with the P sweep).
    dock(QStringLiteral("contextDock"), tr("Context"), editor_, Qt::LeftDockWidgetArea);
    QDockWidget* grid =
        dock(QStringLiteral("gridDock"), tr("Layer × Head"), panel(QStringLiteral("layer_head_grid")), Qt::RightDockWidgetArea);
    QDockWidget* layers =
        dock(QStringLiteral("byLayerDock"), tr("Entropy by Layer"), panel(QStringLiteral("entropy_by_layer")), Qt::RightDockWidgetArea);
    QDockWidget* text = dock(QStringLiteral("contextTextDock"), tr("Context Text"), panel(QStringLiteral("context_text")),
                             Qt::BottomDockWidgetArea);
    QDockWidget* seq = dock(QStringLiteral("sequenceDock"), tr("Entropy along Sequence"),
                            panel(QStringLiteral("entropy_sequence")), Qt::BottomDockWidgetArea);
    QDockWidget* sweep = dock(QStringLiteral("sweepDock"), tr("P Sweep"), panel(QStringLiteral("p_sweep")), Qt::BottomDockWidgetArea);
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    splitDockWidget(grid, layers, Qt::Vertical);
    splitDockWidget(text, seq, Qt::Horizontal);
    tabifyDockWidget(seq, sweep);
    seq->raise();
}

void MainWindow::applyDefaultDockSizes() {
    // Proportions of the window; applied once the window has its real size.
    auto* ctx = findChild<QDockWidget*>(QStringLiteral("contextDock"));
    auto* grid = findChild<QDockWidget*>(QStringLiteral("gridDock"));
    auto* layers = findChild<QDockWidget*>(QStringLiteral("byLayerDock"));
    auto* text = findChild<QDockWidget*>(QStringLiteral("contextTextDock"));
    auto* seq = findChild<QDockWidget*>(QStringLiteral("sequenceDock"));
    const int w = width(), h = height();
    resizeDocks({ctx, grid}, {std::max(300, w * 22 / 100), std::max(420, w * 34 / 100)}, Qt::Horizontal);
    resizeDocks({text}, {h * 30 / 100}, Qt::Vertical);
    resizeDocks({grid, layers}, {h * 25 / 100, h * 40 / 100}, Qt::Vertical);
    resizeDocks({text, seq}, {w * 38 / 100, w * 40 / 100}, Qt::Horizontal);
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (!layoutApplied_) {
        layoutApplied_ = true;
        if (!layoutRestored_) QTimer::singleShot(0, this, &MainWindow::applyDefaultDockSizes);
    }
}

void MainWindow::buildStatusBar() {
    resultLabel_ = new QLabel(this);
    modelLabel_ = new QLabel(this);
    modelLabel_->setForegroundRole(QPalette::PlaceholderText);
    progress_ = new QProgressBar(this);
    progress_->setMaximumWidth(180);
    progress_->setMaximumHeight(16);
    progress_->setTextVisible(false);
    progress_->hide();
    cancelButton_ = new QToolButton(this);
    cancelButton_->setIcon(icon("cancel"));
    cancelButton_->setToolTip(tr("Cancel (Esc)"));
    cancelButton_->setAutoRaise(true);
    cancelButton_->hide();
    connect(cancelButton_, &QToolButton::clicked, this, [this] {
        if (running_.isEmpty()) return;
        const auto tag = static_cast<JobTag>(running_.front().tag);
        if (tag == JobTag::Model) controller_->cancelModelLoad();
        else if (tag == JobTag::Sweep) controller_->cancelSweep();
        else worker_->cancel(tag);
    });
    statusBar()->addPermanentWidget(resultLabel_);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancelButton_);
    statusBar()->addPermanentWidget(modelLabel_);
}

// ---------------------------------------------------------------- method and selection

MethodSettings MainWindow::methodFromControls() const {
    MethodSettings m = controller_->method();
    m.mode = actFull_->isChecked() ? EncodingMode::Full : EncodingMode::Parallel;
    m.sink = actSink_->isChecked();
    m.selective = actSelective_->isChecked();
    m.selectK = kSpin_->value();
    m.scoreTopN = topNSpin_->value();
    m.aggregation = static_cast<SelectAggregation>(aggregationCombo_->currentData().toInt());
    m.positions = static_cast<PositionPolicy>(positionsCombo_->currentData().toInt());
    m.bos = static_cast<BosPolicy>(bosCombo_->currentData().toInt());
    return m;
}

void MainWindow::setMethod(const MethodSettings& method) {
    controller_->setMethod(method);
    syncMethodControls();
    updateTitle();
}

void MainWindow::syncMethodControls() {
    const MethodSettings& m = controller_->method();
    syncing_ = true;
    actFull_->setChecked(m.mode == EncodingMode::Full);
    actParallel_->setChecked(m.mode == EncodingMode::Parallel);
    actSink_->setChecked(m.sink);
    actSelective_->setChecked(m.selective);
    kSpin_->setValue(m.selectK);
    topNSpin_->setValue(m.scoreTopN);
    aggregationCombo_->setCurrentIndex(aggregationCombo_->findData(static_cast<int>(m.aggregation)));
    positionsCombo_->setCurrentIndex(positionsCombo_->findData(static_cast<int>(m.positions)));
    bosCombo_->setCurrentIndex(bosCombo_->findData(static_cast<int>(m.bos)));
    const bool parallel = m.mode == EncodingMode::Parallel;
    positionsCombo_->setEnabled(parallel);
    kSpin_->setEnabled(m.selective);
    topNSpin_->setEnabled(m.selective);
    aggregationCombo_->setEnabled(m.selective);
    editor_->setSinkEnabled(m.sink);
    syncing_ = false;
}

void MainWindow::setSelection(const ViewSelection& selection) { controller_->setSelection(selection); }

void MainWindow::syncSelectionControls() {
    const ViewSelection& s = controller_->selection();
    const ModelInfo& info = controller_->model();
    syncing_ = true;
    layerSpin_->setRange(0, std::max(0, info.layers - 1));
    layerSpin_->setValue(s.layer);
    layerSpin_->setEnabled(controller_->hasModel());
    if (headCombo_->count() != info.heads + 1) {
        headCombo_->clear();
        headCombo_->addItem(tr("mean of heads"));
        for (int h = 0; h < info.heads; ++h) headCombo_->addItem(tr("head %1").arg(h));
    }
    headCombo_->setCurrentIndex(s.head + 1);
    headCombo_->setEnabled(controller_->hasModel());
    BundlePtr b = controller_->current();
    const int queries = b ? b->plan.queryCount() : 0;
    if (queryCombo_->count() != queries + 1 || queryCombo_->property("bundle").value<quintptr>() != quintptr(b.get())) {
        queryCombo_->clear();
        queryCombo_->addItem(tr("all query tokens (mean)"));
        for (int q = 0; q < queries; ++q)
            queryCombo_->addItem(QStringLiteral("%1 · %2").arg(q).arg(
                widgets::displayToken(b->tokenTexts.value(b->plan.queryBegin + q), 18)));
        queryCombo_->setProperty("bundle", QVariant::fromValue(quintptr(b.get())));
    }
    queryCombo_->setCurrentIndex(s.queryToken + 1);
    queryCombo_->setEnabled(queries > 0);
    rowsCombo_->setCurrentIndex(s.allTokenRows ? 0 : 1);
    syncing_ = false;
}

void MainWindow::stepLayer(int delta) {
    const int n = controller_->model().layers;
    if (n <= 0) return;
    ViewSelection s = controller_->selection();
    s.layer = ((s.layer + delta) % n + n) % n;
    setSelection(s);
}

void MainWindow::stepHead(int delta) {
    const int n = controller_->model().heads;
    if (n <= 0) return;
    ViewSelection s = controller_->selection();
    // -1 (mean) → 0 → … → n-1 → -1
    s.head = ((s.head + 1 + delta) % (n + 1) + (n + 1)) % (n + 1) - 1;
    setSelection(s);
}

void MainWindow::zoomHeatmap(double factor) {
    const widgets::TokenWindow r = heatmap_->visibleRows(), c = heatmap_->visibleCols();
    auto scale = [factor](widgets::TokenWindow w, int limit) {
        const double centre = 0.5 * (w.begin + w.end);
        const double half = std::max(2.0, 0.5 * (w.end - w.begin) * factor);
        int b = static_cast<int>(std::floor(centre - half)), e = static_cast<int>(std::ceil(centre + half));
        if (b < 0) e -= b, b = 0;
        if (e > limit) b -= e - limit, e = limit;
        return widgets::TokenWindow{std::max(0, b), e};
    };
    const int n = axisInfo_.tokenCount();
    if (n == 0) return;
    const auto rr = scale(r, n), cc = scale(c, n);
    heatmap_->setView(rr.begin, rr.end, cc.begin, cc.end);
}

void MainWindow::setPresentationMode(bool on) {
    if (actPresentation_->isChecked() != on) actPresentation_->setChecked(on);   // re-enters via toggled()
    if (on == presentation_) return;
    presentation_ = on;
    QFont f = baseFont_;
    if (on) f.setPointSizeF(baseFont_.pointSizeF() * 1.35);
    QApplication::setFont(f);
    for (ViewPanel* p : panels_) p->view()->setPresentationMode(on);
    for (QToolBar* tb : findChildren<QToolBar*>()) tb->setIconSize(on ? QSize(28, 28) : QSize(20, 20));
    // Larger text needs larger views: show the docked views as tabs (two at a time beside the
    // attention map) and give the previous layout back afterwards.
    auto dockNamed = [this](const char* name) { return findChild<QDockWidget*>(QLatin1String(name)); };
    if (on) {
        layoutBeforePresentation_ = saveState();
        tabifyDockWidget(dockNamed("gridDock"), dockNamed("byLayerDock"));
        tabifyDockWidget(dockNamed("contextTextDock"), dockNamed("sequenceDock"));
        tabifyDockWidget(dockNamed("contextTextDock"), dockNamed("sweepDock"));
        dockNamed("byLayerDock")->raise();
        dockNamed("contextTextDock")->raise();
    } else if (!layoutBeforePresentation_.isEmpty()) {
        restoreState(layoutBeforePresentation_);
        layoutBeforePresentation_.clear();
    }
}

}  // namespace attnscope::gui
