// The main window against the engine, offscreen, on the bundled stories260K model and the demo
// context: toggles change the plotted numbers exactly as the Session computes them; the grid
// drives the attention map; exports are valid files; sessions round-trip; corrupt sessions change
// nothing; a missing model gives the empty state.
// Before any Qt header: the writers have a member named emit, a Qt macro.
#include "common/model_writers.h"

#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QListWidget>
#include <QMimeData>
#include <QApplication>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>

#include <cmath>
#include <memory>

#include "analysis_controller.h"
#include "app_test_util.h"
#include "model/model_loader.h"
#include "attention_heatmap.h"
#include "context_editor.h"
#include "context_text.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "main_window.h"
#include "qcustomplot.h"
#include "session/session.h"
#include "session_file.h"
#include "startup_options.h"
#include "view_panel.h"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr int kTimeout = 120000;

// Mean query entropy per (layer, head), as the grid plots it, from a result.
double cellEntropy(const AnalysisResult& r, int layer, int head) {
    double sum = 0;
    for (int t = r.queryBegin; t < r.tokens; ++t) sum += r.entropyAt(layer, head, t);
    return sum / (r.tokens - r.queryBegin);
}

double gridMean(const widgets::LayerHeadGrid* g) {
    double sum = 0;
    for (int l = 0; l < g->layers(); ++l)
        for (int h = 0; h < g->heads(); ++h) sum += g->valueAt(l, h);
    return sum / (g->layers() * g->heads());
}

}  // namespace

class WindowTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();

    void startsWithDemoAndModel();
    void sinkToggleMatchesEngine();
    void selectiveToggleMatchesEngine();
    void methodLinesMatchEngine();
    void gridClickSelectsHeatmapLayerAndHead();
    void queryTokenSelectionIsShared();
    void contextEditsReachTheAnalysis();
    void zoomRefinesTheAttentionMap();
    void droppedContextFileIsOpened();
    void exportsAreValidFiles();
    void exportFigureSetWritesCliNumbers();
    void sessionRoundTripThroughWindows();
    void corruptSessionChangesNothing();
    void missingModelShowsEmptyState();
    void badModelFileIsReportedAndKeepsWork();
    void folderWithoutTokenizerIsReportedNotACrash();
    void sessionWithAMissingModelNamesTheSession();

private:
    // Checks every grid cell and the sequence curve against a direct Session run of `options`.
    void compareWithEngine(const EncodingOptions& options);
    std::unique_ptr<MainWindow> window_;
    std::unique_ptr<Session> session_;   // the engine, driven directly for expected values
    ContextSpec demo_;
};

void WindowTest::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    auto s = Session::open(apptest::demoModelPath().toStdString());
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().describe().c_str());
    session_ = std::move(*s);
    QString error;
    auto demo = loadContextFile(apptest::demoContextPath(), &error);
    QVERIFY2(demo.has_value(), qPrintable(error));
    demo_ = *demo;
}

void WindowTest::init() {
    window_ = std::make_unique<MainWindow>(MainWindow::Mode::Headless);
    window_->resize(1500, 950);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
}

void WindowTest::cleanup() { window_.reset(); }

void WindowTest::compareWithEngine(const EncodingOptions& options) {
    auto plan = session_->plan(demo_, options);
    QVERIFY(plan.ok());
    auto run = session_->analyze(*plan);
    QVERIFY(run.ok());
    const AnalysisResult& r = (*run)->stats;
    const widgets::LayerHeadGrid* grid = window_->layerHeadGrid();
    QCOMPARE(grid->layers(), r.layers);
    QCOMPARE(grid->heads(), r.heads);
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h)
            QVERIFY2(std::abs(grid->valueAt(l, h) - cellEntropy(r, l, h)) < 1e-5,
                     qPrintable(QStringLiteral("layer %1 head %2: %3 vs %4").arg(l).arg(h).arg(grid->valueAt(l, h)).arg(cellEntropy(r, l, h))));
    // The sequence plot: entropy of every token at the selected layer, mean of heads.
    const int layer = window_->controller()->selection().layer;
    auto data = window_->sequencePlot()->currentGraph()->data();
    QCOMPARE(data->size(), r.tokens);
    for (int t = 0; t < r.tokens; t += 7) QVERIFY(std::abs(data->at(t)->value - r.headMeanEntropy(layer, t)) < 1e-5);
}

void WindowTest::startsWithDemoAndModel() {
    QString error;
    QVERIFY2(window_->start(StartupOptions{}, &error), qPrintable(error));
    QVERIFY2(window_->waitForSettled(kTimeout, true), qPrintable(window_->lastError()));
    AnalysisController* c = window_->controller();
    QCOMPARE(QFileInfo(c->model().path).fileName(), QStringLiteral("stories260K.gguf"));
    QVERIFY(sameContext(c->context(), demo_));
    QVERIFY(c->current());
    const int tokens = c->current()->plan.tokenCount();
    QVERIFY2(tokens > 250 && tokens < 350, qPrintable(QString::number(tokens)));   // the ~300-token demo
    QCOMPARE(c->current()->plan.chunkCount(), int(demo_.chunks.size()));
    for (ViewPanel* p : window_->panels())
        if (p->key() != QLatin1String("p_sweep")) QVERIFY2(!p->placeholderShown(), qPrintable(p->key()));
    QVERIFY(!window_->heatmap()->overviewCells().isEmpty());
    QCOMPARE(window_->contextView()->attention().size(), tokens);
}

void WindowTest::sinkToggleMatchesEngine() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    const EncodingOptions before = window_->method().toOptions();
    QVERIFY(before.sinkPrefix);
    compareWithEngine(before);
    const double meanBefore = gridMean(window_->layerHeadGrid());

    window_->sinkAction()->trigger();   // one click
    QVERIFY(window_->waitForSettled(kTimeout));
    const EncodingOptions after = window_->method().toOptions();
    QVERIFY(!after.sinkPrefix);
    compareWithEngine(after);
    const double meanAfter = gridMean(window_->layerHeadGrid());

    // The plotted change goes the way the engine's does.
    auto r0 = session_->analyze(*session_->plan(demo_, before));
    auto r1 = session_->analyze(*session_->plan(demo_, after));
    QVERIFY(r0.ok() && r1.ok());
    const double engineDelta = (*r1)->stats.meanQueryEntropy() - (*r0)->stats.meanQueryEntropy();
    QVERIFY(std::abs(engineDelta) > 1e-4);
    QVERIFY2((meanAfter - meanBefore) * engineDelta > 0,
             qPrintable(QStringLiteral("plotted %1 → %2, engine Δ %3").arg(meanBefore).arg(meanAfter).arg(engineDelta)));
    QVERIFY(std::abs((meanAfter - meanBefore) - engineDelta) < 1e-4);

    // Toggling back is served at once (cached) and shows the first numbers again.
    window_->sinkAction()->trigger();
    QVERIFY(window_->waitForSettled(kTimeout));
    compareWithEngine(before);
}

void WindowTest::selectiveToggleMatchesEngine() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    const EncodingOptions before = window_->method().toOptions();
    QVERIFY(!before.selective.enabled());
    const double meanBefore = gridMean(window_->layerHeadGrid());

    window_->selectiveAction()->trigger();
    QVERIFY(window_->waitForSettled(kTimeout));
    const EncodingOptions after = window_->method().toOptions();
    QCOMPARE(after.selective.topK, 2);
    compareWithEngine(after);
    const double meanAfter = gridMean(window_->layerHeadGrid());

    auto r0 = session_->analyze(*session_->plan(demo_, before));
    auto r1 = session_->analyze(*session_->plan(demo_, after));
    QVERIFY(r0.ok() && r1.ok());
    const double engineDelta = (*r1)->stats.meanQueryEntropy() - (*r0)->stats.meanQueryEntropy();
    QVERIFY(engineDelta < 0);   // selection concentrates attention (the paper's finding)
    QVERIFY((meanAfter - meanBefore) * engineDelta > 0);
    QVERIFY(std::abs((meanAfter - meanBefore) - engineDelta) < 1e-4);
}

void WindowTest::methodLinesMatchEngine() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    const auto& series = window_->entropyByLayer()->series();
    QCOMPARE(series.size(), 5);
    int active = 0;
    for (const widgets::MethodSeries& s : series) {
        Method m = Method::Full;
        for (Method k : kMethods)
            if (widgets::methodName(k) == s.method) m = k;
        QCOMPARE(widgets::methodName(m), s.method);
        auto run = session_->analyze(*session_->plan(demo_, methodOptions(m, window_->method())));
        QVERIFY(run.ok());
        const AnalysisResult& r = (*run)->stats;
        QCOMPARE(s.perLayer.size(), r.layers);
        for (int l = 0; l < r.layers; ++l) QVERIFY(std::abs(s.perLayer[l] - r.layerQueryEntropy(l)) < 1e-6);
        QVERIFY(std::abs(s.mean - r.meanQueryEntropy()) < 1e-6);
        if (s.active) {
            ++active;
            QCOMPARE(s.method, QStringLiteral("sink"));   // the default: parallel + sink
        }
    }
    QCOMPARE(active, 1);
}

void WindowTest::gridClickSelectsHeatmapLayerAndHead() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    widgets::LayerHeadGrid* grid = window_->layerHeadGrid();
    const int layer = 3, head = 5;
    const QPoint centre = grid->cellCenter(layer, head);
    QVERIFY(centre.x() >= 0);
    QTest::mouseClick(grid->plot(), Qt::LeftButton, {}, grid->plot()->mapFrom(grid, centre));
    QTRY_COMPARE(window_->controller()->selection().layer, layer);
    QCOMPARE(window_->controller()->selection().head, head);
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(grid->selectedLayer(), layer);
    QCOMPARE(grid->selectedHead(), head);
    QCOMPARE(window_->findChild<QSpinBox*>(QStringLiteral("layerSpin"))->value(), layer);
    QCOMPARE(window_->findChild<QComboBox*>(QStringLiteral("headCombo"))->currentIndex(), head + 1);

    // The attention map now shows that layer and head: compare its cells with the engine's tile.
    const widgets::HeatmapCells& cells = window_->heatmap()->overviewCells();
    QVERIFY(!cells.isEmpty());
    BundlePtr b = window_->controller()->current();
    AttentionTileRequest req = apptest::tileRequestFor(cells, layer, head);
    auto tile = session_->tile(*b->run, req);
    QVERIFY(tile.ok());
    QCOMPARE(tile->rows, cells.rows);
    QCOMPARE(tile->cols, cells.cols);
    int compared = 0;
    for (int r = 0; r < cells.rows; ++r)
        for (int c = 0; c < cells.cols; ++c) {
            const double shown = cells.at(r, c), engine = tile->at(r, c);
            if (std::isnan(shown)) QCOMPARE(engine, 0.0f);
            else {
                QVERIFY(std::abs(shown - engine) < 1e-6);
                ++compared;
            }
        }
    QVERIFY(compared > 100);
    // And it differs from the mean over heads, so the check above could fail.
    req.head = -1;
    auto mean = session_->tile(*b->run, req);
    QVERIFY(mean.ok());
    double diff = 0;
    for (std::size_t i = 0; i < mean->values.size(); ++i) diff += std::abs(mean->values[i] - tile->values[i]);
    QVERIFY(diff > 1e-3);

    // Keyboard: next head / previous layer.
    window_->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window_.get()));
    QTest::keyClick(window_.get(), Qt::Key_BracketRight, Qt::AltModifier);
    QTRY_COMPARE(window_->controller()->selection().head, head + 1);
    QTest::keyClick(window_.get(), Qt::Key_BracketLeft, Qt::ControlModifier);
    QTRY_COMPARE(window_->controller()->selection().layer, layer - 1);
}

void WindowTest::queryTokenSelectionIsShared() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    widgets::ContextView* view = window_->contextView();
    QSignalSpy spy(window_->controller(), &AnalysisController::selectionChanged);
    emit view->queryTokenClicked(4);   // as a click on query token 4 would
    QCOMPARE(window_->controller()->selection().queryToken, 4);
    QVERIFY(spy.count() >= 1);
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(view->selectedQuery(), 4);
    QCOMPARE(window_->findChild<QComboBox*>(QStringLiteral("queryCombo"))->currentIndex(), 5);
    // The shading is query token 4's attention row at layer 0, mean of heads.
    BundlePtr b = window_->controller()->current();
    AttentionTileRequest req;
    req.layer = 0;
    req.head = -1;
    req.rowBegin = b->plan.queryBegin + 4;
    req.rowEnd = req.rowBegin + 1;
    req.colBegin = 0;
    req.colEnd = b->plan.tokenCount();
    req.outRows = 1;
    req.outCols = req.colEnd;
    auto tile = session_->tile(*b->run, req);
    QVERIFY(tile.ok());
    const QVector<double>& shade = view->attention();
    QCOMPARE(shade.size(), b->plan.tokenCount());
    for (int t = 0; t < shade.size(); ++t) QVERIFY(std::abs(shade[t] - tile->at(0, t)) < 1e-6);
    QVERIFY(shade[req.rowBegin + 1] == 0.0);   // causal: a later token gets nothing
}

void WindowTest::contextEditsReachTheAnalysis() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    ContextEditor* editor = window_->contextEditor();
    const int chunks = window_->controller()->current()->plan.chunkCount();
    editor->duplicateChunk(0);
    QVERIFY(window_->isDirty());
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(window_->controller()->current()->plan.chunkCount(), chunks + 1);
    QVERIFY(editor->chunkTokens(1) > 0);   // live token counts
    editor->moveChunk(1, chunks);
    editor->removeChunk(chunks);
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(window_->controller()->current()->plan.chunkCount(), chunks);
    QVERIFY(sameContext(window_->controller()->context(), demo_));
    QVERIFY(!window_->isDirty());   // back to what was opened
    editor->undo();                 // undo the removal
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(window_->controller()->current()->plan.chunkCount(), chunks + 1);
}

void WindowTest::zoomRefinesTheAttentionMap() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    widgets::AttentionHeatmap* map = window_->heatmap();
    QVERIFY(map->detailCells().isEmpty());
    map->setView(120, 180, 100, 160);   // as a wheel zoom would
    // The heatmap asks for the window at screen resolution; the detail tile arrives.
    QTRY_VERIFY_WITH_TIMEOUT(!map->detailCells().isEmpty(), 10000);
    const widgets::HeatmapCells& d = map->detailCells();
    QVERIFY(d.rowEdges.front() >= 110 && d.rowEdges.back() <= 190);
    QVERIFY(d.colEdges.front() >= 90 && d.colEdges.back() <= 170);
    // 60 tokens on hundreds of pixels: one cell per token, no pooling.
    QCOMPARE(d.rows, d.rowEdges.back() - d.rowEdges.front());
    QCOMPARE(d.cols, d.colEdges.back() - d.colEdges.front());
    BundlePtr b = window_->controller()->current();
    const AttentionTileRequest req = apptest::tileRequestFor(d, 0, -1);
    auto tile = session_->tile(*b->run, req);
    QVERIFY(tile.ok());
    for (int r = 0; r < d.rows; ++r)
        for (int c = 0; c < d.cols; ++c)
            if (!std::isnan(d.at(r, c))) QVERIFY(std::abs(d.at(r, c) - tile->at(r, c)) < 1e-6);
}

void WindowTest::droppedContextFileIsOpened() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("dropped.json"));
    ContextSpec c = demo_;
    c.chunks.resize(2);
    QString error;
    QVERIFY(saveContextFile(path, c, &error));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window_.get(), &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window_.get(), &drop);
    QVERIFY(sameContext(window_->contextEditor()->context(), c));
    QVERIFY(window_->waitForSettled(kTimeout));
    QCOMPARE(window_->controller()->current()->plan.chunkCount(), 2);
}

void WindowTest::exportsAreValidFiles() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    QTemporaryDir dir;
    for (ViewPanel* p : window_->panels()) {
        if (p->key() == QLatin1String("p_sweep")) continue;   // covered by the figure-set test
        QString error;
        const QString png = dir.filePath(p->key() + QStringLiteral(".png"));
        QVERIFY2(window_->exportPanel(p, png, &error), qPrintable(error));
        QImage img(png);
        QVERIFY2(!img.isNull(), qPrintable(png));
        QVERIFY(img.width() >= 600 && img.height() >= 300);   // 2× by default
        // Not blank: more than one colour.
        QSet<QRgb> colours;
        for (int y = 0; y < img.height(); y += 7)
            for (int x = 0; x < img.width(); x += 7) colours.insert(img.pixel(x, y));
        QVERIFY2(colours.size() > 8, qPrintable(p->key()));

        const QString svg = dir.filePath(p->key() + QStringLiteral(".svg"));
        QVERIFY2(window_->exportPanel(p, svg, &error), qPrintable(error));
        QFile sf(svg);
        QVERIFY(sf.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&sf);
        int texts = 0;
        while (!xml.atEnd())
            if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QLatin1String("text")) ++texts;
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QVERIFY2(texts > 0, qPrintable(p->key()));

        const QString pdf = dir.filePath(p->key() + QStringLiteral(".pdf"));
        QVERIFY2(window_->exportPanel(p, pdf, &error), qPrintable(error));
        QFile pf(pdf);
        QVERIFY(pf.open(QIODevice::ReadOnly));
        QVERIFY(pf.read(5) == "%PDF-");

        QVERIFY(window_->exportPanel(p, dir.filePath(p->key() + QStringLiteral(".csv")), &error));
        QVERIFY(window_->exportPanel(p, dir.filePath(p->key() + QStringLiteral(".json")), &error));
    }
    QString error;
    QVERIFY(!window_->exportPanel(window_->panels().front(), dir.filePath(QStringLiteral("x.bmpx")), &error));
    QVERIFY(error.contains(QStringLiteral("x.bmpx")));
}

void WindowTest::exportFigureSetWritesCliNumbers() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    QTemporaryDir dir;
    QString error;
    QVERIFY2(window_->exportFigureSet(dir.path(), &error, 1.0), qPrintable(error));
    for (const char* f : {"attention_map.png", "attention_map.svg", "attention_map.pdf", "layer_head_grid.csv",
                          "entropy_by_layer.json", "entropy_sequence.pdf", "context_text.png", "analysis.json",
                          "entropy.csv", "context.json"})
        QVERIFY2(QFileInfo::exists(dir.filePath(QString::fromLatin1(f))), f);
    // analysis.json holds the CLI's numbers for the current configuration.
    auto j = Json::parseFile(dir.filePath(QStringLiteral("analysis.json")).toStdString());
    QVERIFY(j.ok());
    auto run = session_->analyze(*session_->plan(demo_, window_->method().toOptions()));
    QVERIFY(run.ok());
    QVERIFY(j->find("mean_entropy"));
    QVERIFY(std::abs(j->find("mean_entropy")->asNumber() - (*run)->stats.meanQueryEntropy()) < 1e-6);
}

void WindowTest::sessionRoundTripThroughWindows() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    // Change every kind of state.
    MethodSettings m = window_->method();
    m.sink = false;
    m.selective = true;
    m.selectK = 3;
    m.scoreTopN = 4;
    m.aggregation = SelectAggregation::HeadsQueries;
    m.positions = PositionPolicy::Restart;
    m.bos = BosPolicy::Shared;
    window_->setMethod(m);
    window_->contextEditor()->setQuery(QStringLiteral("Lily and Max played with the ball."));
    window_->contextEditor()->duplicateChunk(2);
    QVERIFY(window_->waitForSettled(kTimeout));
    ViewSelection sel;
    sel.layer = 2;
    sel.head = 6;
    sel.queryToken = 3;
    sel.allTokenRows = false;
    window_->setSelection(sel);
    window_->setPresentationMode(true);
    QVERIFY(window_->waitForSettled(kTimeout));
    QVERIFY(window_->isDirty());

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("round.attnscope.json"));
    QString error;
    QVERIFY2(window_->saveSessionFile(path, &error), qPrintable(error));
    QVERIFY(!window_->isDirty());
    const SessionState saved = window_->sessionState();

    MainWindow other(MainWindow::Mode::Headless);
    other.resize(1500, 950);
    other.show();
    QVERIFY2(other.openSessionFile(path, &error), qPrintable(error));
    QVERIFY(other.waitForSettled(kTimeout));
    const SessionState opened = other.sessionState();
    QCOMPARE(opened.modelPath, saved.modelPath);
    QVERIFY(sameContext(opened.context, saved.context));
    QVERIFY(opened.method == saved.method);
    QCOMPARE(opened.selection.layer, 2);
    QCOMPARE(opened.selection.head, 6);
    QCOMPARE(opened.selection.queryToken, 3);
    QCOMPARE(opened.selection.allTokenRows, false);
    QCOMPARE(opened.presentation, true);
    QVERIFY(opened.sweep == saved.sweep);
    QCOMPARE(opened.logScale, saved.logScale);
    QCOMPARE(other.sessionPath(), QFileInfo(path).absoluteFilePath());
    QVERIFY(!other.isDirty());
    // The reopened window computes the same numbers.
    QVERIFY(std::abs(other.controller()->current()->stats().meanQueryEntropy() -
                     window_->controller()->current()->stats().meanQueryEntropy()) < 1e-9);
    window_->setPresentationMode(false);
}

void WindowTest::corruptSessionChangesNothing() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    window_->contextEditor()->setQuery(QStringLiteral("Unsaved work that must survive."));
    QVERIFY(window_->waitForSettled(kTimeout));
    const SessionState before = window_->sessionState();
    const BundlePtr resultBefore = window_->controller()->current();

    QTemporaryDir dir;
    const QList<QByteArray> corrupt = {
        QByteArray("{\"format\": \"attnscope-session\", \"version\": 1, \"context\": {\"chunks\": [\"a\"], \"query\": 7}}"),
        QByteArray("{\"format\": \"attnscope-session\", \"version\": 1, \"model\": \"x.gguf\", \"context\": "
                   "{\"query\": \"q\"}, \"method\": {\"bos\": \"sometimes\"}}"),
        QByteArray("{ truncated"),
    };
    for (const QByteArray& content : corrupt) {
        const QString path = dir.filePath(QStringLiteral("corrupt.attnscope.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(content);
        f.close();
        QString error;
        QVERIFY(!window_->openSessionFile(path, &error));
        QVERIFY2(error.contains(QStringLiteral("corrupt.attnscope.json")), qPrintable(error));
        QVERIFY(window_->waitForSettled(kTimeout));
        const SessionState after = window_->sessionState();
        QVERIFY(sameContext(after.context, before.context));
        QVERIFY(after.method == before.method);
        QVERIFY(after.selection == before.selection);
        QCOMPARE(after.modelPath, before.modelPath);
        QCOMPARE(window_->sessionPath(), QString());
        QCOMPARE(window_->controller()->current(), resultBefore);
    }
}

void WindowTest::missingModelShowsEmptyState() {
    QTemporaryDir empty;
    const QByteArray saved = qgetenv("ATTNSCOPE_MODELS");
    qputenv("ATTNSCOPE_MODELS", empty.path().toLocal8Bit());
    QString error;
    const bool ok = window_->start(StartupOptions{}, &error);
    qputenv("ATTNSCOPE_MODELS", saved);
    QVERIFY2(ok, qPrintable(error));   // no model is not an error: a friendly empty state
    QVERIFY(!window_->controller()->hasModel());
    auto* central = window_->findChild<QStackedWidget*>(QStringLiteral("viewStack"));
    QVERIFY(central);
    QCOMPARE(central->currentWidget()->objectName(), QStringLiteral("emptyState"));
    QVERIFY(window_->findChild<QPushButton*>(QStringLiteral("emptyOpenModel")));
    // The demo context is there, ready.
    QVERIFY(sameContext(window_->contextEditor()->context(), demo_));
}

void WindowTest::badModelFileIsReportedAndKeepsWork() {
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    const BundlePtr before = window_->controller()->current();
    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("broken.gguf"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("GGUF\x03\0\0\0garbage", 15);
    f.close();
    QSignalSpy failed(window_->controller(), &AnalysisController::modelFailed);
    window_->openModel(bad);
    QVERIFY(failed.wait(kTimeout));
    QVERIFY(failed.front().at(0).toString().endsWith(QStringLiteral("broken.gguf")));   // names the file
    QVERIFY(!failed.front().at(1).toString().isEmpty());                              // and the reason
    // The model we had, its result and the context are untouched.
    QCOMPARE(QFileInfo(window_->controller()->model().path).fileName(), QStringLiteral("stories260K.gguf"));
    QCOMPARE(window_->controller()->current(), before);
    QVERIFY(sameContext(window_->contextEditor()->context(), demo_));
}

// A Hugging Face folder without tokenizer.model: an error naming the folder and what is missing,
// first as the only model (the empty state says it), then while a model is open (it stays).
void WindowTest::folderWithoutTokenizerIsReportedNotACrash() {
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("stories-hf"));
    auto model = loadModel(apptest::demoModelPath().toStdString());
    QVERIFY(model.ok());
    QVERIFY(test::writeHfFolderFromModel(**model, folder.toStdString()).ok());
    QVERIFY(!QFileInfo::exists(folder + QStringLiteral("/tokenizer.model")));

    StartupOptions o;
    o.model = folder;
    QVERIFY(window_->start(o));
    QVERIFY(!window_->waitForSettled(kTimeout));
    QVERIFY(!window_->controller()->hasModel());
    QVERIFY2(window_->lastError().contains(folder), qPrintable(window_->lastError()));
    QVERIFY2(window_->lastError().contains(QStringLiteral("tokenizer.model")), qPrintable(window_->lastError()));

    window_->openModel(apptest::demoModelPath());
    QVERIFY(window_->waitForSettled(kTimeout, true));
    const BundlePtr before = window_->controller()->current();
    QSignalSpy failed(window_->controller(), &AnalysisController::modelFailed);
    window_->openModel(folder);
    QVERIFY(failed.wait(kTimeout));
    QCOMPARE(failed.front().at(0).toString(), folder);
    QVERIFY(failed.front().at(1).toString().contains(QStringLiteral("tokenizer.model")));
    QCOMPARE(QFileInfo(window_->controller()->model().path).fileName(), QStringLiteral("stories260K.gguf"));
    QCOMPARE(window_->controller()->current(), before);
    window_->sinkAction()->trigger();  // still usable
    QVERIFY(window_->waitForSettled(kTimeout));
}

void WindowTest::sessionWithAMissingModelNamesTheSession() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("lost-model.attnscope.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"format": "attnscope-session", "version": 1, "model": "no-such-model.gguf",
               "context": {"chunks": ["Tom had a ball."], "query": "Lily played."}})");
    f.close();
    StartupOptions o;
    o.session = path;
    QVERIFY(window_->start(o));
    QVERIFY(!window_->waitForSettled(kTimeout));
    QVERIFY2(window_->lastError().contains(QStringLiteral("lost-model.attnscope.json")), qPrintable(window_->lastError()));
    QVERIFY2(window_->lastError().contains(QStringLiteral("no-such-model.gguf")), qPrintable(window_->lastError()));
    QCOMPARE(window_->contextEditor()->context().query, std::string("Lily played."));  // the work is there
}

QTEST_MAIN(WindowTest)
#include "test_window.moc"
