// 1,000 random toggles, context edits and layer/head changes on the demo (stories260K and the demo
// context), with a fixed seed, in bursts: whenever the jobs have settled, every view must show
// the current state, checked against an engine Session driven directly (the result's plan hash,
// the grid, the sequence curve, the attention-map tile, the token shading, the method lines);
// and the resident memory at rest must stay flat: at most 10% growth after the first 100 actions.
#include <QAction>
#include <QElapsedTimer>
#include <QFile>
#include <QStandardPaths>
#include <QTest>

#include <malloc.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <random>

#include "analysis_controller.h"
#include "app_test_util.h"
#include "attention_heatmap.h"
#include "context_editor.h"
#include "context_text.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "heatmap_data.h"
#include "layer_head_grid.h"
#include "main_window.h"
#include "qcustomplot.h"
#include "session/session.h"
#include "startup_options.h"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr int kTimeout = 120000;
constexpr int kActions = 1000;
constexpr int kWarmUp = 100;

double residentMiB() {
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly)) return 0;
    const QList<QByteArray> fields = f.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toDouble() * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20) : 0;
}

const char* const kSentences[] = {
    "Lily saw a big red ball in the park.",
    "Tom liked to run fast with his dog.",
    "The sun was warm and the sky was blue.",
    "Mom made a cake for the little bird.",
    "They played together until it was dark.",
    "A small cat sat on the soft green grass.",
};

bool close(double a, double b, double tolerance = 1e-5) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::abs(a - b) <= tolerance * std::max(1.0, std::abs(b));
}


}  // namespace

class StressTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void randomActionsNeverLeaveAStaleView();

private:
    void act(std::mt19937& rng);
    void editContext(std::mt19937& rng);
    // Every view against the engine, for the state the window shows now.
    void checkViews();
    void checkGridAndCurve(const AnalysisResult& r, const ViewSelection& s);
    void checkAttentionMap(const RunOutput& run, const ViewSelection& s);
    void checkTokenShading(const RunOutput& run, const EncodingPlan& plan, const ViewSelection& s);
    void checkMethodLines(const ContextSpec& context);

    std::unique_ptr<MainWindow> window_;
    std::unique_ptr<Session> engine_;
    int demoChunksLeft_ = 0;  // demo chunks not yet replaced by a sentence
    int checks_ = 0;
};

void StressTest::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    SessionOptions o;
    o.device = "cpu";
    auto s = Session::open(apptest::demoModelPath().toStdString(), o);
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().describe().c_str());
    engine_ = std::move(*s);
    window_ = std::make_unique<MainWindow>(MainWindow::Mode::Headless);
    window_->resize(1500, 950);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QVERIFY(window_->start(StartupOptions{}));
    QVERIFY(window_->waitForSettled(kTimeout, true));
    demoChunksLeft_ = window_->contextEditor()->chunkCount();
}

// Context edits that keep its size about the same once the demo's long chunks are replaced (the
// first edits do that, within the warm-up), so the caches hold about the same bytes throughout and
// memory growth means a leak: the query or a chunk replaced by a sentence, two chunks swapped, a
// chunk duplicated and another removed.
void StressTest::editContext(std::mt19937& rng) {
    ContextEditor* e = window_->contextEditor();
    const int chunks = e->chunkCount();
    const QString sentence = QString::fromLatin1(kSentences[rng() % std::size(kSentences)]);
    auto anyChunk = [&] { return static_cast<int>(rng() % chunks); };
    if (demoChunksLeft_ > 0) {
        e->setChunkText(--demoChunksLeft_, sentence);
        return;
    }
    switch (rng() % 4) {
        case 0: e->setQuery(sentence); break;
        case 1: e->setChunkText(anyChunk(), sentence); break;
        case 2: e->moveChunk(anyChunk(), anyChunk()); break;
        default:
            e->duplicateChunk(anyChunk());
            e->removeChunk(anyChunk());
    }
}

// One random action: a method toggle (35%), a context edit (25%), a layer/head/query-token change (40%).
void StressTest::act(std::mt19937& rng) {
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 35) {
        QAction* toggles[] = {window_->sinkAction(), window_->selectiveAction(),
                              window_->method().mode == EncodingMode::Full ? window_->parallelAction()
                                                                           : window_->fullAction()};
        toggles[rng() % 3]->trigger();
    } else if (kind < 60) {
        editContext(rng);
    } else {
        const ModelInfo& m = window_->controller()->model();
        ViewSelection s = window_->controller()->selection();
        s.layer = static_cast<int>(rng() % m.layers);
        s.head = static_cast<int>(rng() % (m.heads + 1)) - 1;
        if (rng() % 3 == 0) s.queryToken = static_cast<int>(rng() % 4) - 1;
        window_->setSelection(s);
    }
}

void StressTest::randomActionsNeverLeaveAStaleView() {
    std::mt19937 rng(20251201);
    QElapsedTimer clock;
    clock.start();
    double warmRss = 0, peakAfterWarmUp = 0;
    int nextCheck = 1 + static_cast<int>(rng() % 10);
    for (int i = 1; i <= kActions; ++i) {
        act(rng);
        QCoreApplication::processEvents();
        if (i != nextCheck && i != kWarmUp && i != kActions) continue;
        // A burst of 1-10 actions is over: let the jobs settle, then check every view.
        QVERIFY2(window_->waitForSettled(kTimeout, true), qPrintable(window_->lastError()));
        checkViews();
        if (QTest::currentTestFailed()) return;
        nextCheck = i + 1 + static_cast<int>(rng() % 10);
        // Resident memory at rest (the allocator's free pages handed back first: they are not
        // memory the app holds).
        malloc_trim(0);
        const double rss = residentMiB();
        if (i == kWarmUp) warmRss = rss;
        if (i > kWarmUp) peakAfterWarmUp = std::max(peakAfterWarmUp, rss);
        if (i % 100 < 10 || i == kActions) qInfo("after %d actions: RSS %.1f MiB, %.1f s", i, rss, clock.elapsed() / 1000.0);
    }
    const double growth = (peakAfterWarmUp - warmRss) / warmRss;
    qInfo("%d actions, %d settled states checked in %.1f s; RSS %.1f MiB after warm-up, peak %.1f MiB (%+.1f%%); "
          "%d stale results dropped",
          kActions, checks_, clock.elapsed() / 1000.0, warmRss, peakAfterWarmUp, 100 * growth,
          window_->worker()->staleDropped());
    QVERIFY2(growth <= 0.10, qPrintable(QStringLiteral("RSS grew %1%").arg(100 * growth)));
}

void StressTest::checkViews() {
    ++checks_;
    AnalysisController* c = window_->controller();
    const BundlePtr shown = c->current();
    QVERIFY2(shown, qPrintable(c->currentError()));
    // The result is the one the state asks for: the editor's context under the toolbar's method.
    const ContextSpec context = window_->contextEditor()->context();
    QVERIFY(sameContext(context, c->context()));
    auto plan = engine_->plan(context, window_->method().toOptions());
    QVERIFY(plan.ok());
    QCOMPARE(shown->planHash, plan->hash());
    auto run = engine_->analyze(*plan);
    QVERIFY(run.ok());
    const ViewSelection s = c->selection();
    checkGridAndCurve((*run)->stats, s);
    // The map and the shading are tiles of the shown run (its numbers were checked above; a run
    // that reused its context may break a tie between identical chunks the other way).
    checkAttentionMap(*shown->run, s);
    checkTokenShading(*shown->run, *plan, s);
    checkMethodLines(context);
}

void StressTest::checkGridAndCurve(const AnalysisResult& r, const ViewSelection& s) {
    const widgets::LayerHeadGrid* grid = window_->layerHeadGrid();
    QCOMPARE(grid->layers(), r.layers);
    QCOMPARE(grid->heads(), r.heads);
    QCOMPARE(grid->selectedLayer(), s.head >= 0 ? s.layer : -1);  // the mean of heads marks no cell
    QCOMPARE(grid->selectedHead(), s.head);
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h) {
            double sum = 0;
            for (int t = r.queryBegin; t < r.tokens; ++t) sum += r.entropyAt(l, h, t);
            QVERIFY(close(grid->valueAt(l, h), sum / (r.tokens - r.queryBegin)));
        }
    auto curve = window_->sequencePlot()->currentGraph()->data();
    QCOMPARE(curve->size(), r.tokens);
    for (int t = 0; t < r.tokens; ++t) {
        const double want = s.head >= 0 ? r.entropyAt(s.layer, s.head, t) : r.headMeanEntropy(s.layer, t);
        QVERIFY(close(curve->at(t)->value, want));
    }
}

// The overview tile on screen is the engine's tile of the shown run at the selected layer and head.
void StressTest::checkAttentionMap(const RunOutput& run, const ViewSelection& s) {
    const widgets::HeatmapCells& cells = window_->heatmap()->overviewCells();
    QVERIFY(!cells.isEmpty());
    QCOMPARE(window_->heatmap()->axisInfo().tokenCount(), run.stats.tokens);
    const AttentionTileRequest req = apptest::tileRequestFor(cells, s.layer, s.head);
    auto tile = engine_->tile(run, req);
    QVERIFY(tile.ok());
    const widgets::HeatmapCells want = widgets::heatmapCells(*tile, cells.scale);
    QCOMPARE(want.rows, cells.rows);
    QCOMPARE(want.cols, cells.cols);
    for (int i = 0; i < want.values.size(); ++i)
        QVERIFY2(close(cells.values[i], want.values[i], 1e-4),
                 qPrintable(QStringLiteral("check %1: cell %2 of %3x%4 shows %5, the engine gives %6 (layer %7, head %8, "
                                           "%9, rows %10-%11)")
                                .arg(checks_).arg(i).arg(cells.rows).arg(cells.cols).arg(cells.values[i])
                                .arg(want.values[i]).arg(s.layer).arg(s.head)
                                .arg(methodLabel(window_->method())).arg(req.rowBegin).arg(req.rowEnd)));
}

// The context text's shading is the attention of the selected query token(s).
void StressTest::checkTokenShading(const RunOutput& run, const EncodingPlan& plan, const ViewSelection& s) {
    const widgets::ContextView* view = window_->contextView();
    const int n = plan.tokenCount();
    QCOMPARE(view->tokens().tokenCount(), n);
    QCOMPARE(view->selectedQuery(), s.queryToken);
    AttentionTileRequest req;
    req.layer = s.layer;
    req.head = s.head;
    req.rowBegin = s.queryToken >= 0 ? plan.queryBegin + s.queryToken : plan.queryBegin;
    req.rowEnd = s.queryToken >= 0 ? req.rowBegin + 1 : n;
    req.colEnd = n;
    req.outRows = 1;
    req.outCols = n;
    auto tile = engine_->tile(run, req);
    QVERIFY(tile.ok());
    QCOMPARE(view->attention().size(), n);
    for (int c = 0; c < tile->cols; ++c)
        for (int t = tile->colEdges[c]; t < tile->colEdges[c + 1]; ++t)
            QVERIFY2(close(view->attention()[t], tile->at(0, c), 1e-4),
                     qPrintable(QStringLiteral("check %1: token %2 shaded %3, the engine gives %4 (query token %5)")
                                    .arg(checks_).arg(t).arg(view->attention()[t]).arg(tile->at(0, c))
                                    .arg(s.queryToken)));
}

// The entropy-by-layer lines are the five methods on the current context with the current shared
// settings (plan hashes from the engine), and each line shows its result; settings that are none
// of the five add a line of their own, the one highlighted.
void StressTest::checkMethodLines(const ContextSpec& context) {
    AnalysisController* c = window_->controller();
    const MethodSettings settings = window_->method();
    const Method active = methodOf(settings);
    const bool ownLine = settings.toOptions() != methodOptions(active, settings);
    QList<widgets::MethodSeries> lines = window_->entropyByLayer()->series();
    QCOMPARE(lines.size(), static_cast<qsizetype>(std::size(kMethods)) + (ownLine ? 1 : 0));
    if (ownLine) {
        QCOMPARE(lines.back().method, QStringLiteral("current"));
        QVERIFY(lines.back().active);
        QCOMPARE(lines.back().mean, c->current()->stats().meanQueryEntropy());
        lines.removeLast();
    }
    for (const widgets::MethodSeries& line : lines) {
        auto m = parseMethod(line.method.toStdString());
        QVERIFY(m.ok());
        QCOMPARE(line.active, *m == active && !ownLine);
        const BundlePtr b = c->methodBundle(*m);
        QVERIFY(b);
        auto plan = engine_->plan(context, settingsFor(*m, settings).toOptions());
        QVERIFY(plan.ok());
        QCOMPARE(b->planHash, plan->hash());
        const AnalysisResult& r = b->stats();
        QCOMPARE(line.perLayer.size(), r.layers);
        for (int l = 0; l < r.layers; ++l) QVERIFY(close(line.perLayer[l], r.layerQueryEntropy(l)));
    }
}

QTEST_MAIN(StressTest)
#include "test_stress.moc"
