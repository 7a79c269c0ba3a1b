// MainWindow: routing results and selections to the views, progress, readiness.
#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <set>

#include "attention_heatmap.h"
#include "color_maps.h"
#include "context_editor.h"
#include "context_view.h"
#include "engine_worker.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "main_window.h"
#include "settings.h"
#include "sweep_plot.h"
#include "tokenizer/tokenizer.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

QString methodLegend(Method m, const MethodSettings& s) {
    switch (m) {
        case Method::Full: return QObject::tr("full");
        case Method::Parallel: return QObject::tr("parallel");
        case Method::Sink: return QObject::tr("+ sink");
        case Method::Selective: return QObject::tr("+ selective K=%1").arg(s.selectK);
        case Method::Both: return QObject::tr("+ sink + sel.");
    }
    return {};
}

}  // namespace

void MainWindow::connectController() {
    connect(controller_, &AnalysisController::modelLoadStarted, this, &MainWindow::onModelLoadStarted);
    connect(controller_, &AnalysisController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(controller_, &AnalysisController::modelFailed, this, &MainWindow::onModelFailed);
    connect(controller_, &AnalysisController::analysisStarted, this, [this] {
        if (!shown_) showNoResult(tr("Computing…"), false);
    });
    connect(controller_, &AnalysisController::currentChanged, this, &MainWindow::onCurrentChanged);
    connect(controller_, &AnalysisController::methodsChanged, this, &MainWindow::onMethodsChanged);
    connect(controller_, &AnalysisController::selectionChanged, this, &MainWindow::onSelectionChanged);
    connect(controller_, &AnalysisController::sweepChanged, this, &MainWindow::onSweepChanged);
    connect(controller_, &AnalysisController::sweepFailed, this, [this](const QString& message) {
        if (controller_->sweepRows().empty()) {
            sweepStatus_->setText(tr("Sweep failed"));
            panel(QStringLiteral("p_sweep"))->showPlaceholder(tr("The sweep failed:\n%1").arg(message), true);
        } else {
            sweepStatus_->setText(tr("Sweep incomplete"));
            sweepStatus_->setToolTip(message);
        }
        statusBar()->showMessage(tr("P sweep: %1").arg(message), 10000);
    });
    connect(controller_, &AnalysisController::tileReady, this, [this](const AttentionTile& tile) {
        heatmap_->setTile(tile);
        const TileKey key{tile.request.layer, tile.request.head, tile.request.rowBegin, tile.request.rowEnd,
                          tile.request.colBegin, tile.request.colEnd};
        if (key == overviewKey_) overviewPending_ = false;
        checkSettled();
    });
    connect(controller_, &AnalysisController::tokenAttentionReady, this,
            [this](const QVector<double>& weights, const QString& caption) {
                contextView_->setAttention(weights, caption);
                attentionPending_ = false;
                checkSettled();
            });

    connect(worker_, &EngineWorker::jobStarted, this, &MainWindow::onJobStarted);
    connect(worker_, &EngineWorker::jobProgress, this, &MainWindow::onJobProgress);
    connect(worker_, &EngineWorker::jobFinished, this, &MainWindow::onJobFinished);

    connect(editor_, &ContextEditor::contextEdited, this, [this] {
        contextDebounce_.start();
        updateTitle();
    });
    connect(editor_, &ContextEditor::sinkToggled, this, [this](bool on) {
        MethodSettings m = controller_->method();
        m.sink = on;
        setMethod(m);
    });
    connect(editor_, &ContextEditor::splitRequested, this, [this] { splitTextDialog(); });
}

// ---------------------------------------------------------------- model

void MainWindow::onModelLoadStarted(const QString& path) {
    modelLabel_->setText(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    if (!controller_->hasModel()) {
        emptyTitle_->setText(tr("Loading %1…").arg(QFileInfo(path).fileName()));
        setEmptyText(tr("Reading the model in the background. Press Esc to cancel."));
    }
}

void MainWindow::onModelLoaded() {
    const ModelInfo& info = controller_->model();
    interactiveModelOpen_ = false;
    central_->setCurrentIndex(1);
    const QString file = QFileInfo(info.path).fileName();
    modelLabel_->setText(QStringLiteral("%1 · %2 · %3").arg(file, info.summary, info.backend));
    QString tip = tr("%1\n%2 parameters, %3").arg(info.path).arg(info.parameters).arg(info.format);
    for (const QString& n : info.notices) tip += QLatin1Char('\n') + n;
    if (info.localLayers.contains(true)) {
        int local = static_cast<int>(info.localLayers.count(true));
        tip += tr("\n%1 of %2 layers use sliding-window (local) attention; shaded in the entropy-by-layer view")
                   .arg(local)
                   .arg(info.layers);
    }
    modelLabel_->setToolTip(tip);
    byLayer_->setLocalLayers(info.localLayers);
    statusBar()->showMessage(tr("Opened %1").arg(file), 4000);
    editor_->setTokenizer(controller_->tokenizer());
    if (mode_ == Mode::Interactive) Settings::addRecentModel(info.path);
    updateRecentMenus();
    syncSelectionControls();
    // Flush a pending edit so the first analysis sees the editor's text.
    if (contextDebounce_.isActive()) {
        contextDebounce_.stop();
        controller_->setContext(editor_->context());
    }
    updateTitle();
}

void MainWindow::onModelFailed(const QString& path, const QString& message) {
    const QString file = QFileInfo(path).fileName();
    lastModelError_ = message.contains(file) ? message : tr("%1: %2").arg(path, message);
    if (controller_->hasModel()) {
        const ModelInfo& info = controller_->model();
        modelLabel_->setText(QStringLiteral("%1 · %2 · %3").arg(QFileInfo(info.path).fileName(), info.summary, info.backend));
        statusBar()->showMessage(tr("Could not open %1: %2").arg(file, message), 10000);
    } else {
        modelLabel_->setText(tr("No model"));
        central_->setCurrentWidget(emptyState_);
        emptyTitle_->setText(tr("Could not open %1").arg(file.isEmpty() ? path : file));
        setEmptyText(tr("%1\n\nOpen another GGUF file or Hugging Face folder. Your context is kept.").arg(message));
        showNoResult(tr("Open a model to start."), false);
    }
    if (interactiveModelOpen_ && mode_ == Mode::Interactive && !message.contains(tr("cancelled")))
        showError(tr("Cannot Open Model"), tr("Could not open %1:\n%2").arg(path, message));
    interactiveModelOpen_ = false;
}

// ---------------------------------------------------------------- results

void MainWindow::showNoResult(const QString& text, bool isError) {
    for (ViewPanel* p : panels_) {
        if (p->key() == QLatin1String("p_sweep") && !controller_->sweepRows().empty()) continue;
        if (p->key() == QLatin1String("p_sweep") && !isError) {
            p->showPlaceholder(controller_->hasModel() ? tr("Run a sweep (Ctrl+R) to measure entropy and perplexity for "
                                                            "P = 1, 2, 4, … chunks of this text.")
                                                       : text,
                               false);
            continue;
        }
        p->showPlaceholder(text, isError);
    }
}

void MainWindow::onCurrentChanged() {
    BundlePtr b = controller_->current();
    if (!b) {
        shown_.reset();
        const QString err = controller_->currentError();
        if (!err.isEmpty()) {
            showNoResult(tr("Cannot analyse this context:\n%1").arg(err), true);
            resultLabel_->setText(tr("no result"));
            statusBar()->showMessage(err, 10000);
        }
        checkSettled();
        return;
    }
    const bool sameLayout = shown_ && shown_->plan.tokenCount() == b->plan.tokenCount() &&
                            shown_->plan.queryBegin == b->plan.queryBegin;
    shown_ = b;
    axisInfo_ = widgets::TokenAxisInfo::fromPlan(b->plan, b->tokenTexts);
    const AnalysisResult& r = b->stats();

    for (ViewPanel* p : panels_)
        if (p->key() != QLatin1String("p_sweep") && p->key() != QLatin1String("entropy_by_layer")) p->showView();
    if (controller_->methodsReady() || !byLayer_->series().isEmpty()) panel(QStringLiteral("entropy_by_layer"))->showView();
    else panel(QStringLiteral("entropy_by_layer"))->showPlaceholder(tr("Comparing the five methods…"), false);

    // Attention map.
    heatmap_->setAxisInfo(axisInfo_);
    updateHeatmapWindow(!sameLayout);

    // Layer × head grid: mean query entropy per (layer, head).
    QVector<double> cells(static_cast<qsizetype>(r.layers) * r.heads, std::nan(""));
    const int q0 = r.queryBegin, q1 = r.tokens;
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h) {
            double sum = 0;
            for (int t = q0; t < q1; ++t) sum += r.entropyAt(l, h, t);
            if (q1 > q0) cells[l * r.heads + h] = sum / (q1 - q0);
        }
    grid_->setEntropy(r.layers, r.heads, cells);
    grid_->setSelected(controller_->selection().layer, controller_->selection().head);

    byLayer_->setActiveMethod(widgets::methodName(methodOf(controller_->method())));
    contextView_->setTokens(axisInfo_, QVector<int>(b->plan.ids.begin(), b->plan.ids.end()));
    updateSequencePlot();
    updateContextView();
    syncSelectionControls();
    updateStatusSummary();
    checkSettled();
}

void MainWindow::onMethodsChanged() {
    QList<widgets::MethodSeries> series;
    const MethodSettings& s = controller_->method();
    const Method active = methodOf(s);
    for (Method m : kMethods) {
        BundlePtr b = controller_->methodBundle(m);
        if (!b) continue;
        widgets::MethodSeries ms;
        ms.method = widgets::methodName(m);
        ms.label = methodLegend(m, s);
        const AnalysisResult& r = b->stats();
        for (int l = 0; l < r.layers; ++l) ms.perLayer << r.layerQueryEntropy(l);
        ms.mean = r.meanQueryEntropy();
        ms.active = m == active;
        series << ms;
    }
    byLayer_->setSeries(series);
    if (series.isEmpty()) panel(QStringLiteral("entropy_by_layer"))->showPlaceholder(tr("No method could be analysed."), true);
    else if (shown_) panel(QStringLiteral("entropy_by_layer"))->showView();
    updateSequencePlot();
    checkSettled();
}

void MainWindow::onSelectionChanged() {
    syncSelectionControls();
    if (!shown_) return;
    const ViewSelection& s = controller_->selection();
    grid_->setSelected(s.layer, s.head);
    const int rowBegin = s.allTokenRows ? 0 : shown_->plan.queryBegin;
    const bool rowsChanged = rowBegin != overviewKey_.rowBegin;
    if (rowsChanged || s.layer != overviewKey_.layer || s.head != overviewKey_.head) updateHeatmapWindow(rowsChanged);
    updateSequencePlot();
    updateContextView();
    checkSettled();
}

void MainWindow::updateHeatmapWindow(bool resetZoom) {
    if (!shown_) return;
    const int n = shown_->plan.tokenCount();
    const bool all = controller_->selection().allTokenRows;
    const int rowBegin = all ? 0 : shown_->plan.queryBegin;
    heatmap_->setHomeView(rowBegin, n, 0, n);
    if (resetZoom) heatmap_->resetView();
    requestOverviewTile();
    // Zoomed in: refine the visible window too (after the overview, which drops older details).
    const widgets::TokenWindow vr = heatmap_->visibleRows(), vc = heatmap_->visibleCols();
    if (!resetZoom && (vr.begin > rowBegin || vr.end < n || vc.begin > 0 || vc.end < n) && vr.end > vr.begin &&
        vc.end > vc.begin) {
        const QSize px = heatmap_->dataAreaPixels();
        controller_->requestTile(vr.begin, vr.end, vc.begin, vc.end, std::min(vr.end - vr.begin, std::max(px.height(), 16)),
                                 std::min(vc.end - vc.begin, std::max(px.width(), 16)), false);
    }
}

void MainWindow::requestOverviewTile() {
    if (!shown_) return;
    const int n = shown_->plan.tokenCount();
    const ViewSelection& s = controller_->selection();
    const int rowBegin = s.allTokenRows ? 0 : shown_->plan.queryBegin;
    QSize px = heatmap_->dataAreaPixels();
    if (px.width() < 64 || px.height() < 64 || !heatmap_->isVisible()) px = QSize(1200, 1200);   // not laid out: export size
    overviewKey_ = TileKey{s.layer, s.head, rowBegin, n, 0, n};
    overviewPending_ = true;
    controller_->requestTile(rowBegin, n, 0, n, std::min(n - rowBegin, px.height()), std::min(n, px.width()), true);
}

void MainWindow::updateSequencePlot() {
    if (!shown_) return;
    const AnalysisResult& r = shown_->stats();
    const ViewSelection& s = controller_->selection();
    auto curve = [&s](const AnalysisResult& res) {
        QVector<double> v(res.tokens);
        for (int t = 0; t < res.tokens; ++t)
            v[t] = s.head >= 0 ? res.entropyAt(s.layer, s.head, t) : res.headMeanEntropy(s.layer, t);
        return v;
    };
    const QString where = tr("layer %1, %2").arg(s.layer).arg(s.head >= 0 ? tr("head %1").arg(s.head) : tr("mean of heads"));
    QVector<double> full;
    BundlePtr ref = controller_->fullReference();
    const bool isFull = controller_->method().mode == EncodingMode::Full;
    if (!isFull && ref && ref->plan.ids == shown_->plan.ids) full = curve(ref->stats());
    sequence_->setAxisInfo(axisInfo_);
    sequence_->setCurveMethods(widgets::methodName(methodOf(controller_->method())), QStringLiteral("full"));
    sequence_->setCurves(curve(r), tr("%1 (%2)").arg(methodLabel(controller_->method()), where), full,
                         tr("full attention (%1)").arg(where));
}

void MainWindow::updateContextView() {
    if (!shown_) return;
    const AnalysisResult& r = shown_->stats();
    const ViewSelection& s = controller_->selection();
    const int Q = r.queries(), C = r.chunks;
    QVector<double> chunkMass(C, 0.0);
    double prefixMass = 0, queryMass = 0;
    int count = 0;
    if (Q > 0 && s.layer < r.layers) {
        const int h0 = s.head >= 0 ? s.head : 0, h1 = s.head >= 0 ? s.head + 1 : r.heads;
        const int qa = s.queryToken >= 0 ? s.queryToken : 0, qb = s.queryToken >= 0 ? s.queryToken + 1 : Q;
        for (int h = h0; h < h1; ++h)
            for (int q = qa; q < qb; ++q) {
                const std::size_t i = (static_cast<std::size_t>(s.layer) * r.heads + h) * Q + q;
                for (int c = 0; c < C; ++c) chunkMass[c] += r.chunkMassAt(s.layer, h, q, c);
                if (i < r.prefixMass.size()) prefixMass += r.prefixMass[i];
                if (i < r.queryMass.size()) queryMass += r.queryMass[i];
                ++count;
            }
    }
    if (count > 0) {
        for (double& m : chunkMass) m /= count;
        prefixMass /= count;
        queryMass /= count;
    }
    contextView_->setChunkMass(chunkMass, prefixMass, queryMass);
    contextView_->setSelectedQuery(s.queryToken);
    attentionPending_ = shown_->run && shown_->run->kept;
    controller_->requestTokenAttention();
}

void MainWindow::updateStatusSummary() {
    if (!shown_) {
        resultLabel_->clear();
        return;
    }
    const AnalysisResult& r = shown_->stats();
    const double ppl = r.perplexity();
    QString text = tr("mean query entropy %1 nats").arg(r.meanQueryEntropy(), 0, 'f', 3);
    if (std::isfinite(ppl)) text += tr(" · PPL %1").arg(ppl, 0, 'f', 2);
    text += tr(" · %1 tokens · %2 chunks").arg(r.tokens).arg(r.chunks);
    resultLabel_->setText(text);
    resultLabel_->setToolTip(tr("%1\ncomputed in %2 ms on %3%4")
                                 .arg(methodLabel(controller_->method()))
                                 .arg(r.elapsedMs, 0, 'f', 1)
                                 .arg(QString::fromStdString(r.backend))
                                 .arg(r.reusedContext ? tr(" (context reused)") : QString()));
}

void MainWindow::onSweepChanged() {
    const auto& rows = controller_->sweepRows();
    sweep_->setRows(rows);
    ViewPanel* p = panel(QStringLiteral("p_sweep"));
    const bool running = controller_->sweepRunning();
    sweepRun_->setText(running ? tr("Cancel") : tr("Run sweep"));
    actRunSweep_->setEnabled(!running && controller_->hasModel());
    if (!rows.empty()) p->showView();
    else if (running) p->showPlaceholder(tr("Sweeping P = %1 …").arg(sweepParts_->text()), false);
    else if (controller_->hasModel())
        p->showPlaceholder(tr("Run a sweep (Ctrl+R) to measure entropy and perplexity for P = 1, 2, 4, … chunks of "
                              "this text."),
                           false);
    std::set<int> parts;
    for (const auto& row : rows) parts.insert(row.parts);
    sweepStatus_->setText(running ? tr("running… %1 of %2 P values").arg(parts.size()).arg(controller_->sweepSettings().parts.size())
                                  : rows.empty() ? QString() : tr("%1 runs").arg(rows.size()));
    checkSettled();
}

// ---------------------------------------------------------------- readiness

QString MainWindow::lastError() const {
    if (!controller_->hasModel() && !lastModelError_.isEmpty()) return lastModelError_;
    return controller_->currentError();
}

bool MainWindow::isSettled() const {
    if (!controller_->hasModel() || controller_->modelLoading() || controller_->analysisPending()) return false;
    if (contextDebounce_.isActive()) return false;
    BundlePtr b = controller_->current();
    if (!b) return !controller_->currentError().isEmpty();
    return b == shown_ && !overviewPending_ && !attentionPending_;
}

bool MainWindow::isComplete() const {
    return isSettled() && (controller_->methodsReady() || !controller_->current()) && !controller_->sweepRunning();
}

void MainWindow::checkSettled() {
    const bool now = isSettled();
    if (now && !wasSettled_) emit settled();
    wasSettled_ = now;
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

ViewPanel* MainWindow::currentPanel() const {
    if (lastPanel_) return lastPanel_;
    return panels_.front();
}

// ---------------------------------------------------------------- progress

void MainWindow::onJobStarted(int tag, quint64 generation, const QString& label) {
    running_.append(RunningJob{tag, generation, label, clock_.elapsed()});
    if (!progressDelay_.isActive()) progressDelay_.start();
}

void MainWindow::onJobProgress(int tag, quint64 generation, int done, int total) {
    for (RunningJob& j : running_)
        if (j.tag == tag && j.generation == generation) {
            j.done = done;
            j.total = total;
        }
    if (progress_->isVisible()) updateProgressWidgets();
}

void MainWindow::onJobFinished(int tag, quint64 generation) {
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [&](const RunningJob& j) { return j.tag == tag && j.generation == generation; }),
                   running_.end());
    updateProgressWidgets();
}

void MainWindow::updateProgressWidgets() {
    const qint64 now = clock_.elapsed();
    const RunningJob* shown = nullptr;
    qint64 youngest = -1;
    for (const RunningJob& j : running_) {
        if (now - j.startedMs >= 300) {
            if (!shown || j.tag < shown->tag) shown = &j;   // the most interactive first
        } else {
            youngest = std::max(youngest, j.startedMs);
        }
    }
    if (!shown) {
        if (progress_->isVisible()) statusBar()->clearMessage();
        progress_->hide();
        cancelButton_->hide();
        if (youngest >= 0) progressDelay_.start(static_cast<int>(std::max<qint64>(10, 300 - (now - youngest))));
        return;
    }
    if (shown->total > 0) {
        progress_->setRange(0, shown->total);
        progress_->setValue(shown->done);
    } else {
        progress_->setRange(0, 0);   // busy
    }
    progress_->show();
    const auto tag = static_cast<JobTag>(shown->tag);
    cancelButton_->setVisible(tag == JobTag::Model || tag == JobTag::Sweep || tag == JobTag::Analysis ||
                              tag == JobTag::Methods);
    statusBar()->showMessage(shown->label + QStringLiteral("…"));
}

}  // namespace attnscope::gui
