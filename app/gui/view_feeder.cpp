#include "view_feeder.h"

#include <cmath>
#include <set>

#include "analysis_views.h"
#include "attention_heatmap.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "sweep_plot.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

// The method's legend label (plan/method.h), with K for selective attention alone.
QString methodLegend(Method m, const MethodSettings& s) {
    const MethodDefinition& d = definition(m);
    QString label = QString::fromUtf8(d.legend);
    if (d.selective && !d.sink) label += QStringLiteral(" K=%1").arg(s.selectK);
    return label;
}

QString sweepInvitation() {
    return QObject::tr(
        "Run a sweep (Ctrl+R) to measure entropy and perplexity for P = 1, 2, 4, … chunks of this text.");
}

}  // namespace

ViewFeeder::ViewFeeder(AnalysisController* controller, AnalysisViews* views, QObject* parent)
    : QObject(parent), controller_(controller), views_(views) {
    connect(controller_, &AnalysisController::analysisStarted, this, [this] {
        if (!shown_) showNoResult(tr("Computing…"), false);
    });
    connect(controller_, &AnalysisController::modelLoaded, this,
            [this] { views_->entropyByLayer()->setLocalLayers(controller_->model().localLayers); });
    connect(controller_, &AnalysisController::currentChanged, this, &ViewFeeder::onCurrentChanged);
    connect(controller_, &AnalysisController::methodsChanged, this, &ViewFeeder::onMethodsChanged);
    connect(controller_, &AnalysisController::selectionChanged, this, &ViewFeeder::onSelectionChanged);
    connect(controller_, &AnalysisController::sweepChanged, this, &ViewFeeder::onSweepChanged);
    connect(controller_, &AnalysisController::sweepFailed, this, &ViewFeeder::onSweepFailed);
    connect(controller_, &AnalysisController::tileReady, this, [this](const AttentionTile& tile) {
        views_->heatmap()->setTile(tile);
        const AttentionTileRequest& r = tile.request;
        if (TileKey{r.layer, r.head, r.rowBegin, r.rowEnd, r.colBegin, r.colEnd} == overviewKey_)
            overviewPending_ = false;
        checkSettled();
    });
    connect(controller_, &AnalysisController::tokenAttentionReady, this,
            [this](const QVector<double>& weights, const QString& caption) {
                views_->contextView()->setAttention(weights, caption);
                attentionPending_ = false;
                checkSettled();
            });
    connectViewLinks();
}

void ViewFeeder::select(const std::function<void(ViewSelection&)>& change) {
    ViewSelection s = controller_->selection();
    change(s);
    controller_->setSelection(s);
}

void ViewFeeder::connectViewLinks() {
    connect(views_, &AnalysisViews::allTokenRowsChosen, this,
            [this](bool all) { select([all](ViewSelection& s) { s.allTokenRows = all; }); });
    connect(views_->layerHeadGrid(), &widgets::LayerHeadGrid::headSelected, this, [this](int layer, int head) {
        select([=](ViewSelection& s) {
            s.layer = layer;
            s.head = head;
        });
    });
    connect(views_->contextView(), &widgets::ContextView::queryTokenClicked, this, [this](int q) {
        // Clicking the selected token again: all tokens.
        select([q](ViewSelection& s) { s.queryToken = s.queryToken == q ? -1 : q; });
    });
    connect(views_->heatmap(), &widgets::AttentionHeatmap::cellClicked, this, [this](int row, int) {
        BundlePtr b = controller_->current();
        if (b && row >= b->plan.queryBegin) select([&](ViewSelection& s) { s.queryToken = row - b->plan.queryBegin; });
    });
    connect(views_->heatmap(), &widgets::AttentionHeatmap::viewportChanged, this,
            [this](int rb, int re, int cb, int ce, int w, int h) {
                BundlePtr b = controller_->current();
                if (!b || b != shown_) return;
                const TileKey key{controller_->selection().layer, controller_->selection().head, rb, re, cb, ce};
                if (key == overviewKey_) return;  // the overview covers it at full resolution already
                controller_->requestTile(rb, re, cb, ce, std::min(re - rb, std::max(h, 16)),
                                         std::min(ce - cb, std::max(w, 16)), false);
            });
}

// ---------------------------------------------------------------- results

void ViewFeeder::showNoResult(const QString& text, bool isError) {
    for (ViewPanel* p : views_->panels()) {
        if (p->key() == panels::kPSweep && !controller_->sweepRows().empty()) continue;
        if (p->key() == panels::kPSweep && !isError) {
            p->showPlaceholder(controller_->hasModel() ? sweepInvitation() : text, false);
            continue;
        }
        p->showPlaceholder(text, isError);
    }
}

void ViewFeeder::onCurrentChanged() {
    BundlePtr b = controller_->current();
    if (!b) {
        shown_.reset();
        const QString err = controller_->currentError();
        if (!err.isEmpty()) showNoResult(tr("Cannot analyse this context:\n%1").arg(err), true);
        checkSettled();
        return;
    }
    const bool sameLayout =
        shown_ && shown_->plan.tokenCount() == b->plan.tokenCount() && shown_->plan.queryBegin == b->plan.queryBegin;
    shown_ = b;
    axisInfo_ = widgets::TokenAxisInfo::fromPlan(b->plan, b->tokenTexts);

    for (ViewPanel* p : views_->panels())
        if (p->key() != panels::kPSweep && p->key() != panels::kEntropyByLayer) p->showView();
    ViewPanel* byLayer = views_->panel(panels::kEntropyByLayer);
    if (controller_->methodsReady() || !views_->entropyByLayer()->series().isEmpty()) byLayer->showView();
    else byLayer->showPlaceholder(tr("Comparing the five methods…"), false);

    views_->heatmap()->setAxisInfo(axisInfo_);
    updateHeatmapWindow(!sameLayout);
    showLayerHeadGrid(b->stats());
    if (!views_->entropyByLayer()->series().isEmpty())  // the highlighted line follows the settings shown
        views_->entropyByLayer()->setSeries(methodSeries());
    views_->contextView()->setTokens(axisInfo_, QVector<int>(b->plan.ids.begin(), b->plan.ids.end()));
    updateSequencePlot();
    updateContextView();
    checkSettled();
}

// Layer × head grid: mean query entropy per (layer, head).
void ViewFeeder::showLayerHeadGrid(const AnalysisResult& r) {
    QVector<double> cells(static_cast<qsizetype>(r.layers) * r.heads, std::nan(""));
    const int q0 = r.queryBegin, q1 = r.tokens;
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h) {
            double sum = 0;
            for (int t = q0; t < q1; ++t) sum += r.entropyAt(l, h, t);
            if (q1 > q0) cells[l * r.heads + h] = sum / (q1 - q0);
        }
    views_->layerHeadGrid()->setEntropy(r.layers, r.heads, cells);
    views_->layerHeadGrid()->setSelected(controller_->selection().layer, controller_->selection().head);
}

void ViewFeeder::onMethodsChanged() {
    const QList<widgets::MethodSeries> series = methodSeries();
    views_->entropyByLayer()->setSeries(series);
    ViewPanel* byLayer = views_->panel(panels::kEntropyByLayer);
    if (series.isEmpty()) byLayer->showPlaceholder(tr("No method could be analysed."), true);
    else if (shown_) byLayer->showView();
    updateSequencePlot();
    checkSettled();
}

// One line per method analysed, the active one highlighted.
QList<widgets::MethodSeries> ViewFeeder::methodSeries() const {
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
    addCurrentSeries(series);
    return series;
}

// Settings that are none of the five methods (full attention with selection, say) are their own
// line, the one highlighted: the legends highlight what the other views show.
void ViewFeeder::addCurrentSeries(QList<widgets::MethodSeries>& series) const {
    const MethodSettings& s = controller_->method();
    BundlePtr b = controller_->current();
    if (s.toOptions() == methodOptions(methodOf(s), s) || !b) return;
    widgets::MethodSeries ms;
    ms.method = QStringLiteral("current");
    ms.label = methodLabel(s);
    const AnalysisResult& r = b->stats();
    for (int l = 0; l < r.layers; ++l) ms.perLayer << r.layerQueryEntropy(l);
    ms.mean = r.meanQueryEntropy();
    ms.active = true;
    for (widgets::MethodSeries& other : series) other.active = false;
    series << ms;
}

void ViewFeeder::onSelectionChanged() {
    const ViewSelection& s = controller_->selection();
    views_->setAllTokenRows(s.allTokenRows);
    if (!shown_) return;
    views_->layerHeadGrid()->setSelected(s.layer, s.head);
    const int rowBegin = s.allTokenRows ? 0 : shown_->plan.queryBegin;
    const bool rowsChanged = rowBegin != overviewKey_.rowBegin;
    if (rowsChanged || s.layer != overviewKey_.layer || s.head != overviewKey_.head) updateHeatmapWindow(rowsChanged);
    updateSequencePlot();
    updateContextView();
    checkSettled();
}

void ViewFeeder::updateHeatmapWindow(bool resetZoom) {
    if (!shown_) return;
    widgets::AttentionHeatmap* map = views_->heatmap();
    const int n = shown_->plan.tokenCount();
    const int rowBegin = controller_->selection().allTokenRows ? 0 : shown_->plan.queryBegin;
    map->setHomeView(rowBegin, n, 0, n);
    if (resetZoom) map->resetView();
    requestOverviewTile();
    // Zoomed in: refine the visible window too (after the overview, which drops older details).
    const widgets::TokenWindow vr = map->visibleRows(), vc = map->visibleCols();
    if (!resetZoom && (vr.begin > rowBegin || vr.end < n || vc.begin > 0 || vc.end < n) && vr.end > vr.begin &&
        vc.end > vc.begin) {
        const QSize px = map->dataAreaPixels();
        controller_->requestTile(vr.begin, vr.end, vc.begin, vc.end,
                                 std::min(vr.end - vr.begin, std::max(px.height(), 16)),
                                 std::min(vc.end - vc.begin, std::max(px.width(), 16)), false);
    }
}

void ViewFeeder::requestOverviewTile() {
    if (!shown_) return;
    widgets::AttentionHeatmap* map = views_->heatmap();
    const int n = shown_->plan.tokenCount();
    const ViewSelection& s = controller_->selection();
    const int rowBegin = s.allTokenRows ? 0 : shown_->plan.queryBegin;
    QSize px = map->dataAreaPixels();
    if (px.width() < 64 || px.height() < 64 || !map->isVisible()) px = QSize(1200, 1200);  // not laid out: export size
    overviewKey_ = TileKey{s.layer, s.head, rowBegin, n, 0, n};
    overviewPending_ = true;
    controller_->requestTile(rowBegin, n, 0, n, std::min(n - rowBegin, px.height()), std::min(n, px.width()), true);
}

void ViewFeeder::updateSequencePlot() {
    if (!shown_) return;
    const ViewSelection& s = controller_->selection();
    auto curve = [&s](const AnalysisResult& res) {
        QVector<double> v(res.tokens);
        for (int t = 0; t < res.tokens; ++t)
            v[t] = s.head >= 0 ? res.entropyAt(s.layer, s.head, t) : res.headMeanEntropy(s.layer, t);
        return v;
    };
    const QString where =
        tr("layer %1, %2").arg(s.layer).arg(s.head >= 0 ? tr("head %1").arg(s.head) : tr("mean of heads"));
    QVector<double> full;
    BundlePtr ref = controller_->fullReference();
    const bool isFull = controller_->method().mode == EncodingMode::Full;
    if (!isFull && ref && ref->plan.ids == shown_->plan.ids) full = curve(ref->stats());
    widgets::EntropySequencePlot* plot = views_->sequencePlot();
    plot->setAxisInfo(axisInfo_);
    plot->setCurveMethods(widgets::methodName(methodOf(controller_->method())), QStringLiteral("full"));
    plot->setCurves(curve(shown_->stats()),
                    tr("%1 (%2)").arg(methodLabel(controller_->method(), controller_->model().slidingWindow), where),
                    full, tr("full attention (%1)").arg(where));
}

// Context text: the attention mass per segment of the selected query token(s), and the shading.
void ViewFeeder::updateContextView() {
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
    views_->contextView()->setChunkMass(chunkMass, prefixMass, queryMass);
    views_->contextView()->setSelectedQuery(s.queryToken);
    attentionPending_ = shown_->run && shown_->run->kept;
    controller_->requestTokenAttention();
}

// ---------------------------------------------------------------- sweep

void ViewFeeder::onSweepChanged() {
    const auto& rows = controller_->sweepRows();
    views_->sweepPlot()->setRows(rows);
    ViewPanel* p = views_->panel(panels::kPSweep);
    const bool running = controller_->sweepRunning();
    if (!rows.empty()) p->showView();
    else if (running) p->showPlaceholder(tr("Sweeping P = %1 …").arg(views_->sweepPartsText()), false);
    else if (controller_->hasModel()) p->showPlaceholder(sweepInvitation(), false);
    std::set<int> parts;
    for (const auto& row : rows) parts.insert(row.parts);
    const qsizetype planned = controller_->sweepSettings().parts.size();
    views_->showSweepState(running, running        ? tr("running… %1 of %2 P values").arg(parts.size()).arg(planned)
                                    : rows.empty() ? QString()
                                                   : tr("%1 runs").arg(rows.size()));
    checkSettled();
}

void ViewFeeder::onSweepFailed(const QString& message) {
    if (controller_->sweepRows().empty()) {
        views_->showSweepState(false, tr("Sweep failed"));
        views_->panel(panels::kPSweep)->showPlaceholder(tr("The sweep failed:\n%1").arg(message), true);
    } else {
        views_->showSweepState(false, tr("Sweep incomplete"), message);
    }
}

// ---------------------------------------------------------------- readiness

bool ViewFeeder::isSettled() const {
    if (!controller_->hasModel() || controller_->modelLoading() || controller_->analysisPending()) return false;
    BundlePtr b = controller_->current();
    if (!b) return !controller_->currentError().isEmpty();
    return b == shown_ && !overviewPending_ && !attentionPending_;
}

void ViewFeeder::checkSettled() {
    const bool now = isSettled();
    if (now && !wasSettled_) emit settled();
    wasSettled_ = now;
}

}  // namespace attnscope::gui
