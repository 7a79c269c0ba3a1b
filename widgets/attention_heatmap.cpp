#include "attention_heatmap.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QJsonArray>
#include <QKeyEvent>
#include <QToolTip>

#include <qcustomplot.h>

namespace attnscope::widgets {
namespace {

constexpr int kStripThickness = 18;
constexpr int kStripThicknessPresentation = 26;
constexpr double kMinSpanTokens = 4;

QString probabilityText(double p) {
    if (std::isnan(p)) return QStringLiteral("not visible (masked)");
    if (p >= 0.01) return QString::number(p, 'f', 4);
    return QString::number(p, 'e', 2);
}

// Fills `map` from `cells`. QCPColorMap needs at least two cells per direction to know the cell
// size, so a single row/column is drawn as two identical halves.
void fillMap(QCPColorMap* map, const HeatmapCells& cells) {
    if (cells.isEmpty()) {
        map->data()->clear();
        map->setVisible(false);
        return;
    }
    const int kx = cells.cols == 1 ? 2 : 1, ky = cells.rows == 1 ? 2 : 1;
    const int nx = cells.cols * kx, ny = cells.rows * ky;
    const double w = (cells.keyUpper() - cells.keyLower()) / nx;
    const double h = (cells.rowUpper() - cells.rowLower()) / ny;
    auto* data = new QCPColorMapData(nx, ny, QCPRange(cells.keyLower() + w / 2, cells.keyUpper() - w / 2),
                                     QCPRange(cells.rowLower() + h / 2, cells.rowUpper() - h / 2));
    for (int r = 0; r < ny; ++r)
        for (int c = 0; c < nx; ++c) data->setCell(c, r, cells.at(r / ky, c / kx));
    map->setData(data, false);  // takes ownership
    map->setVisible(true);
}

bool covers(const AttentionTileRequest& outer, const AttentionTileRequest& inner) {
    return outer.rowBegin <= inner.rowBegin && outer.rowEnd >= inner.rowEnd && outer.colBegin <= inner.colBegin &&
           outer.colEnd >= inner.colEnd;
}

QCPAxisRect* makeStrip(QCustomPlot* plot) {
    auto* strip = new QCPAxisRect(plot, true);
    for (QCPAxis* a : strip->axes()) a->setVisible(false);
    // Margins come from the margin groups (aligned with the data rect); the strip's own axes are
    // hidden, so its automatic margins are 0 otherwise.
    strip->setMinimumMargins(QMargins(0, 0, 0, 0));
    strip->setRangeDrag(Qt::Orientations());
    strip->setRangeZoom(Qt::Orientations());
    strip->axis(QCPAxis::atBottom)->grid()->setVisible(false);
    strip->axis(QCPAxis::atLeft)->grid()->setVisible(false);
    return strip;
}

// Items drawn for one band in a strip (kept in the item's property so labels can be refitted).
const char* kBandIndex = "attnscopeBandIndex";

}  // namespace

AttentionHeatmap::AttentionHeatmap(QWidget* parent) : PlotView(parent) {
    plot()->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    buildLayout();
    setUpAxes();
    QCPAxis* x = dataRect_->axis(QCPAxis::atBottom);
    QCPAxis* y = dataRect_->axis(QCPAxis::atLeft);
    overviewMap_ = new QCPColorMap(x, y);
    detailMap_ = new QCPColorMap(x, y);
    for (QCPColorMap* m : {overviewMap_, detailMap_}) {
        m->setInterpolate(false);
        m->setTightBoundary(false);
        m->setVisible(false);
    }
    connectInteraction();
    setGradient(ColorMapKind::Viridis);
    applyStyle();
}

// The matrix with a band strip above (keys) and left (rows), and the colour scale on the right;
// strips and matrix share their margins so bands line up with the cells.
void AttentionHeatmap::buildLayout() {
    QCustomPlot* p = plot();
    dataRect_ = new QCPAxisRect(p, true);
    topStrip_ = makeStrip(p);
    leftStrip_ = makeStrip(p);
    colorScale_ = new QCPColorScale(p);
    colorScale_->setType(QCPAxis::atRight);
    colorScale_->axis()->setLabel(QStringLiteral("attention probability"));

    contentLayout()->addElement(0, 1, topStrip_);
    contentLayout()->addElement(1, 0, leftStrip_);
    contentLayout()->addElement(1, 1, dataRect_);
    contentLayout()->addElement(1, 2, colorScale_);
    contentLayout()->setColumnSpacing(0);
    contentLayout()->setRowSpacing(0);
    contentLayout()->setColumnStretchFactors({0.001, 1.0, 0.001});
    contentLayout()->setRowStretchFactors({0.001, 1.0});

    auto* columns = new QCPMarginGroup(p);
    topStrip_->setAutoMargins(QCP::msLeft | QCP::msRight);
    topStrip_->setMargins(QMargins(0, 0, 0, 0));
    topStrip_->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
    dataRect_->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
    auto* rows = new QCPMarginGroup(p);
    leftStrip_->setAutoMargins(QCP::msTop | QCP::msBottom);
    leftStrip_->setMargins(QMargins(0, 0, 0, 0));
    leftStrip_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
    colorScale_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
    dataRect_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
}

// Keys across, rows down (token 0 at the top), token ticks; wheel and drag zoom and pan.
void AttentionHeatmap::setUpAxes() {
    QCPAxis* x = dataRect_->axis(QCPAxis::atBottom);
    QCPAxis* y = dataRect_->axis(QCPAxis::atLeft);
    y->setRangeReversed(true);
    leftStrip_->axis(QCPAxis::atLeft)->setRangeReversed(true);
    x->setLabel(QStringLiteral("key token (attended to)"));
    y->setLabel(QStringLiteral("attending token"));
    for (QCPAxis* a : {x, y}) {
        a->setTicker(QSharedPointer<QCPAxisTickerText>::create());
        a->setSubTicks(false);
        a->grid()->setVisible(false);
    }
    dataRect_->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    dataRect_->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    dataRect_->setRangeZoomFactor(0.85);
    topStrip_->axis(QCPAxis::atLeft)->setRange(0, 1);
    leftStrip_->axis(QCPAxis::atBottom)->setRange(0, 1);
}

// Range changes, hover and clicks; the viewport signal is debounced (50 ms).
void AttentionHeatmap::connectInteraction() {
    QCustomPlot* p = plot();
    for (QCPAxis* a : {dataRect_->axis(QCPAxis::atBottom), dataRect_->axis(QCPAxis::atLeft)})
        connect(a, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] { onRangeChanged(); });
    connect(p, &QCustomPlot::beforeReplot, this, [this] { updateTicks(); });
    connect(p, &QCustomPlot::afterLayout, this, [this] { rebuildDecorations(); });
    connect(p, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { onMouseMove(e); });
    connect(p, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { onMousePress(e); });
    connect(p, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
        const QPointF start = property("attnscopePressPos").toPointF();
        if (e->button() != Qt::LeftButton || (e->position() - start).manhattanLength() > 4) return;
        if (!dataRect_->rect().contains(e->position().toPoint()) || info_.isEmpty()) return;
        const int k =
            static_cast<int>(std::lround(dataRect_->axis(QCPAxis::atBottom)->pixelToCoord(e->position().x())));
        const int r = static_cast<int>(std::lround(dataRect_->axis(QCPAxis::atLeft)->pixelToCoord(e->position().y())));
        if (k >= 0 && r >= 0 && k < info_.tokenCount() && r < info_.tokenCount()) Q_EMIT cellClicked(r, k);
    });
    viewportTimer_.setSingleShot(true);
    viewportTimer_.setInterval(50);
    connect(&viewportTimer_, &QTimer::timeout, this, [this] {
        const TokenWindow r = visibleRows(), c = visibleCols();
        const QSize px = dataAreaPixels();
        if (r.end > r.begin && c.end > c.begin)
            Q_EMIT viewportChanged(r.begin, r.end, c.begin, c.end, px.width(), px.height());
    });
}

AttentionHeatmap::~AttentionHeatmap() = default;

void AttentionHeatmap::setAxisInfo(const TokenAxisInfo& info) {
    info_ = info;
    overview_ = detail_ = HeatmapCells{};
    overviewTile_ = detailTile_ = AttentionTile{};
    homeSet_ = false;
    const int n = info_.tokenCount();
    homeRows_ = homeCols_ = TokenWindow{0, n};
    // Band items are recreated for the new axis.
    for (QCPAxisRect* strip : {topStrip_, leftStrip_})
        for (QCPAbstractItem* item : strip->items()) plot()->removeItem(item);
    for (QCPAbstractItem* item : dataRect_->items()) plot()->removeItem(item);
    const QVector<AxisBand> bands = axisBands(info_, 0, n);
    for (int i = 0; i < bands.size(); ++i) {
        addBand(topStrip_, bands[i], i, true);
        addBand(leftStrip_, bands[i], i, false);
    }
    // Segment boundaries across the matrix.
    for (int i = 1; i < bands.size(); ++i) {
        const double b = bands[i].lower;
        addBoundaryLine(QPointF(b, 0), QPointF(b, 1));
        addBoundaryLine(QPointF(0, b), QPointF(1, b));
    }
    rebuildMaps();
    applyStyle();
    resetView();
    Q_EMIT dataChanged();
}

// One band of a strip (a coloured rect and its label), along the keys (horizontal) or rows.
void AttentionHeatmap::addBand(QCPAxisRect* strip, const AxisBand& band, int index, bool horizontal) {
    QCPAxis* sx = strip->axis(QCPAxis::atBottom);
    QCPAxis* sy = strip->axis(QCPAxis::atLeft);
    auto* rect = new QCPItemRect(plot());
    rect->setClipAxisRect(strip);
    rect->setClipToAxisRect(true);
    rect->topLeft->setAxes(sx, sy);
    rect->bottomRight->setAxes(sx, sy);
    if (horizontal) {
        rect->topLeft->setCoords(band.lower, 1);
        rect->bottomRight->setCoords(band.upper, 0);
    } else {
        rect->topLeft->setCoords(0, band.lower);
        rect->bottomRight->setCoords(1, band.upper);
    }
    rect->setProperty(kBandIndex, index);
    auto* text = new QCPItemText(plot());
    text->setClipAxisRect(strip);
    text->setClipToAxisRect(true);
    text->position->setAxes(sx, sy);
    text->setPositionAlignment(Qt::AlignCenter);
    if (!horizontal) text->setRotation(-90);
    text->setProperty(kBandIndex, index);
    text->setText(band.label);
}

void AttentionHeatmap::addBoundaryLine(const QPointF& from, const QPointF& to) {
    auto* line = new QCPItemStraightLine(plot());
    line->setClipAxisRect(dataRect_);
    for (QCPItemPosition* point : {line->point1, line->point2})
        point->setAxes(dataRect_->axis(QCPAxis::atBottom), dataRect_->axis(QCPAxis::atLeft));
    line->point1->setCoords(from);
    line->point2->setCoords(to);
}

void AttentionHeatmap::setTile(const AttentionTile& tile) {
    if (tile.rows <= 0 || tile.cols <= 0) return;
    if (overview_.isEmpty()) {
        overviewTile_ = tile;
        detailTile_ = AttentionTile{};
        if (!homeSet_) {
            homeRows_ = {tile.request.rowBegin, tile.request.rowEnd};
            homeCols_ = {tile.request.colBegin, tile.request.colEnd};
            resetView();
        }
    } else if (covers(tile.request, overviewTile_.request)) {
        overviewTile_ = tile;
        detailTile_ = AttentionTile{};
    } else {
        detailTile_ = tile;
    }
    rebuildMaps();
    Q_EMIT dataChanged();
}

void AttentionHeatmap::clear() {
    overviewTile_ = detailTile_ = AttentionTile{};
    rebuildMaps();
    Q_EMIT dataChanged();
}

void AttentionHeatmap::setLogScale(bool on) {
    if (log_ == on) return;
    log_ = on;
    rebuildMaps();
    Q_EMIT dataChanged();
}

void AttentionHeatmap::setGradient(ColorMapKind kind) {
    gradientKind_ = kind;
    const QCPColorGradient g = gradient(kind);
    overviewMap_->setGradient(g);
    detailMap_->setGradient(g);
    colorScale_->setGradient(g);
    replot();
}

void AttentionHeatmap::rebuildMaps() {
    const HeatmapScale scale = log_ ? HeatmapScale::Log : HeatmapScale::Linear;
    overview_ = heatmapCells(overviewTile_, scale);
    detail_ = heatmapCells(detailTile_, scale);
    if (!overview_.isEmpty() && !detail_.isEmpty()) unifyRanges(overview_, detail_);
    const HeatmapCells& ref = !overview_.isEmpty() ? overview_ : detail_;
    if (detail_.isEmpty()) {
        fillMap(overviewMap_, overview_);
    } else {
        // Masked detail cells are transparent; hide the overview under the detail window so it
        // does not show through them.
        HeatmapCells under = overview_;
        const int rb = detail_.rowEdges.front(), re = detail_.rowEdges.back();
        const int cb = detail_.colEdges.front(), ce = detail_.colEdges.back();
        for (int r = 0; r < under.rows; ++r) {
            if (under.rowEdges[r + 1] <= rb || under.rowEdges[r] >= re) continue;
            for (int c = 0; c < under.cols; ++c)
                if (under.colEdges[c + 1] > cb && under.colEdges[c] < ce)
                    under.values[r * under.cols + c] = std::numeric_limits<double>::quiet_NaN();
        }
        fillMap(overviewMap_, under);
    }
    fillMap(detailMap_, detail_);
    const QCPRange range(ref.rangeLower, ref.rangeUpper);
    const QCPAxis::ScaleType type = log_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear;
    for (QCPColorMap* m : {overviewMap_, detailMap_}) {
        m->setDataScaleType(type);
        m->setDataRange(range);
    }
    colorScale_->setDataScaleType(type);
    colorScale_->setDataRange(range);
    if (log_) {
        colorScale_->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
        colorScale_->axis()->setNumberFormat(QStringLiteral("eb"));
        colorScale_->axis()->setNumberPrecision(0);
        colorScale_->axis()->setLabel(QStringLiteral("attention probability (log scale)"));
    } else {
        colorScale_->axis()->setTicker(QSharedPointer<QCPAxisTicker>::create());
        colorScale_->axis()->setNumberFormat(QStringLiteral("gb"));
        colorScale_->axis()->setNumberPrecision(2);
        colorScale_->axis()->setLabel(QStringLiteral("attention probability"));
    }
    replot();
}

void AttentionHeatmap::setHomeView(int rowBegin, int rowEnd, int colBegin, int colEnd) {
    homeRows_ = {rowBegin, rowEnd};
    homeCols_ = {colBegin, colEnd};
    homeSet_ = true;
    resetView();
}

void AttentionHeatmap::resetView() {
    if (homeRows_.end > homeRows_.begin && homeCols_.end > homeCols_.begin)
        setView(homeRows_.begin, homeRows_.end, homeCols_.begin, homeCols_.end);
}

void AttentionHeatmap::setView(int rowBegin, int rowEnd, int colBegin, int colEnd) {
    adjusting_ = true;
    dataRect_->axis(QCPAxis::atBottom)->setRange(colBegin - 0.5, colEnd - 0.5);
    dataRect_->axis(QCPAxis::atLeft)->setRange(rowBegin - 0.5, rowEnd - 0.5);
    adjusting_ = false;
    onRangeChanged();
}

TokenWindow AttentionHeatmap::visibleRows() const {
    const QCPRange r = dataRect_->axis(QCPAxis::atLeft)->range();
    return tokenWindow(r.lower, r.upper, info_.tokenCount());
}

TokenWindow AttentionHeatmap::visibleCols() const {
    const QCPRange r = dataRect_->axis(QCPAxis::atBottom)->range();
    return tokenWindow(r.lower, r.upper, info_.tokenCount());
}

QSize AttentionHeatmap::dataAreaPixels() const {
    const double dpr = devicePixelRatioF();
    return {static_cast<int>(std::lround(dataRect_->width() * dpr)),
            static_cast<int>(std::lround(dataRect_->height() * dpr))};
}

double AttentionHeatmap::probabilityAt(int rowToken, int keyToken) const {
    for (const HeatmapCells* c : {&detail_, &overview_}) {
        const int r = c->rowBinOf(rowToken), k = c->colBinOf(keyToken);
        if (r >= 0 && k >= 0) return c->at(r, k);
    }
    return std::numeric_limits<double>::quiet_NaN();
}

void AttentionHeatmap::clampRanges() {
    const int n = info_.tokenCount();
    if (n <= 0) return;
    const double lo = -0.5, hi = n - 0.5;
    const double minSpan = std::min<double>(kMinSpanTokens, n);
    for (QCPAxis* a : {dataRect_->axis(QCPAxis::atBottom), dataRect_->axis(QCPAxis::atLeft)}) {
        QCPRange r = a->range();
        double size = std::clamp(r.size(), minSpan, hi - lo);
        double lower = std::clamp(r.center() - size / 2, lo, hi - size);
        if (std::abs(lower - r.lower) > 1e-9 || std::abs(lower + size - r.upper) > 1e-9)
            a->setRange(lower, lower + size);
    }
}

void AttentionHeatmap::onRangeChanged() {
    if (adjusting_) return;
    adjusting_ = true;
    clampRanges();
    adjusting_ = false;
    topStrip_->axis(QCPAxis::atBottom)->setRange(dataRect_->axis(QCPAxis::atBottom)->range());
    leftStrip_->axis(QCPAxis::atLeft)->setRange(dataRect_->axis(QCPAxis::atLeft)->range());
    viewportTimer_.start();
    replot();
}

void AttentionHeatmap::updateTicks() {
    const QFontMetricsF fm(tickFont());
    const double labelPx = fm.height() + 1;
    for (QCPAxis* a : {dataRect_->axis(QCPAxis::atBottom), dataRect_->axis(QCPAxis::atLeft)}) {
        const bool horizontal = a->orientation() == Qt::Horizontal;
        const double px = horizontal ? dataRect_->width() : dataRect_->height();
        const TokenTicks t =
            tokenTicks(info_, a->range().lower, a->range().upper, std::max(px, 50.0), labelPx, horizontal ? 70 : 40);
        auto ticker = a->ticker().dynamicCast<QCPAxisTickerText>();
        if (ticker) ticker->setTicks(t.positions, t.labels);
        if (horizontal) a->setTickLabelRotation(t.tokenLabels ? -90 : 0);
    }
}

void AttentionHeatmap::rebuildDecorations() {
    // Fit band labels to the pixels each band occupies.
    const QVector<AxisBand> bands = axisBands(info_, 0, info_.tokenCount());
    const QFontMetricsF fm(smallFont());
    const double charPx = fm.averageCharWidth();
    for (QCPAxisRect* strip : {topStrip_, leftStrip_}) {
        const bool horizontal = strip == topStrip_;
        QCPAxis* axis = horizontal ? strip->axis(QCPAxis::atBottom) : strip->axis(QCPAxis::atLeft);
        for (QCPAbstractItem* item : strip->items()) {
            auto* text = qobject_cast<QCPItemText*>(item);
            if (!text) continue;
            const int i = text->property(kBandIndex).toInt();
            if (i < 0 || i >= bands.size()) continue;
            const double lower = std::max(bands[i].lower, axis->range().lower);
            const double upper = std::min(bands[i].upper, axis->range().upper);
            if (upper <= lower) {
                text->setVisible(false);
                continue;
            }
            const double px = std::abs(axis->coordToPixel(upper) - axis->coordToPixel(lower));
            const QString label = bandLabelFor(bands[i], px, charPx);
            text->setVisible(!label.isEmpty());
            text->setText(label);
            const double mid = (lower + upper) / 2;
            if (horizontal) text->position->setCoords(mid, 0.5);
            else text->position->setCoords(0.5, mid);
        }
    }
}

void AttentionHeatmap::onMouseMove(QMouseEvent* event) {
    const QPointF pos = event->position();
    if (info_.isEmpty() || !dataRect_->rect().contains(pos.toPoint())) {
        if (property("attnscopeHovering").toBool()) {
            setProperty("attnscopeHovering", false);
            QToolTip::hideText();
            Q_EMIT cellHovered(-1, -1, std::numeric_limits<double>::quiet_NaN());
        }
        return;
    }
    const int k = static_cast<int>(std::lround(dataRect_->axis(QCPAxis::atBottom)->pixelToCoord(pos.x())));
    const int r = static_cast<int>(std::lround(dataRect_->axis(QCPAxis::atLeft)->pixelToCoord(pos.y())));
    if (k < 0 || r < 0 || k >= info_.tokenCount() || r >= info_.tokenCount()) return;
    setProperty("attnscopeHovering", true);
    const double p = probabilityAt(r, k);
    // Describe the pooled cell when a cell covers several tokens.
    QString pooled;
    for (const HeatmapCells* c : {&detail_, &overview_}) {
        const int rb = c->rowBinOf(r), cb = c->colBinOf(k);
        if (rb < 0 || cb < 0) continue;
        const int rows = c->rowEdges[rb + 1] - c->rowEdges[rb], cols = c->colEdges[cb + 1] - c->colEdges[cb];
        if (rows > 1 || cols > 1)
            pooled = QStringLiteral("<br><i>pooled over tokens %1–%2 × %3–%4</i>")
                         .arg(c->rowEdges[rb])
                         .arg(c->rowEdges[rb + 1] - 1)
                         .arg(c->colEdges[cb])
                         .arg(c->colEdges[cb + 1] - 1);
        break;
    }
    const QString text = QStringLiteral("<b>attending</b> #%1 “%2” (%3)<br><b>key</b> #%4 “%5” (%6)<br><b>p</b> = %7%8")
                             .arg(r)
                             .arg(displayToken(info_.tokenText(r), 24).toHtmlEscaped(), info_.segmentLabel(r))
                             .arg(k)
                             .arg(displayToken(info_.tokenText(k), 24).toHtmlEscaped(), info_.segmentLabel(k),
                                  probabilityText(p), pooled);
    QToolTip::showText(event->globalPosition().toPoint(), text, plot());
    Q_EMIT cellHovered(r, k, p);
}

void AttentionHeatmap::onMousePress(QMouseEvent* event) {
    setProperty("attnscopePressPos", event->position());
    setFocus(Qt::MouseFocusReason);
}

void AttentionHeatmap::zoomBy(double factor) {
    QCPAxis* x = dataRect_->axis(QCPAxis::atBottom);
    QCPAxis* y = dataRect_->axis(QCPAxis::atLeft);
    adjusting_ = true;
    x->scaleRange(factor, x->range().center());
    y->scaleRange(factor, y->range().center());
    adjusting_ = false;
    onRangeChanged();
}

void AttentionHeatmap::panBy(double dxFraction, double dyFraction) {
    QCPAxis* x = dataRect_->axis(QCPAxis::atBottom);
    QCPAxis* y = dataRect_->axis(QCPAxis::atLeft);
    adjusting_ = true;
    x->moveRange(dxFraction * x->range().size());
    y->moveRange(dyFraction * y->range().size());
    adjusting_ = false;
    onRangeChanged();
}

void AttentionHeatmap::keyPressEvent(QKeyEvent* event) {
    switch (event->key()) {
        case Qt::Key_Plus:
        case Qt::Key_Equal: zoomBy(0.7); break;
        case Qt::Key_Minus:
        case Qt::Key_Underscore: zoomBy(1 / 0.7); break;
        case Qt::Key_Left: panBy(-0.15, 0); break;
        case Qt::Key_Right: panBy(0.15, 0); break;
        case Qt::Key_Up: panBy(0, -0.15); break;  // rows grow downwards
        case Qt::Key_Down: panBy(0, 0.15); break;
        case Qt::Key_Home: resetView(); break;
        default: PlotView::keyPressEvent(event); return;
    }
    event->accept();
}

void AttentionHeatmap::resizeEvent(QResizeEvent* event) {
    PlotView::resizeEvent(event);
    viewportTimer_.start();
}

void AttentionHeatmap::applyStyle() {
    PlotView::applyStyle();
    styleAxisRect(dataRect_);
    styleColorScale(colorScale_);
    const QColor fg = foreground();
    // Cells no token may attend to (masked) are transparent and show this flat light tint, which
    // reads apart from probability 0 (the dark end of the colour map) in every export format.
    dataRect_->setBackground(QBrush(withAlpha(fg, darkPalette() ? 28 : 16)));
    for (QCPAxis* a : dataRect_->axes()) a->grid()->setVisible(false);
    const int strip = presentationMode() ? kStripThicknessPresentation : kStripThickness;
    topStrip_->setMinimumSize(0, strip);
    topStrip_->setMaximumSize(QWIDGETSIZE_MAX, strip);
    leftStrip_->setMinimumSize(strip, 0);
    leftStrip_->setMaximumSize(strip, QWIDGETSIZE_MAX);
    const QVector<AxisBand> bands = axisBands(info_, 0, info_.tokenCount());
    auto bandColor = [&](int i) {
        if (i < 0 || i >= bands.size()) return fg;
        switch (bands[i].kind) {
            case SegmentKind::Prefix: return prefixColor();
            case SegmentKind::Query: return queryColor();
            case SegmentKind::Chunk: return chunkColor(bands[i].chunk);
        }
        return fg;
    };
    for (QCPAxisRect* s : {topStrip_, leftStrip_}) {
        for (QCPAbstractItem* item : s->items()) {
            const int i = item->property(kBandIndex).toInt();
            const QColor c = bandColor(i);
            if (auto* rect = qobject_cast<QCPItemRect*>(item)) {
                rect->setBrush(QBrush(c));
                rect->setPen(QPen(background(), 1));
            } else if (auto* text = qobject_cast<QCPItemText*>(item)) {
                text->setFont(smallFont());
                text->setColor(contrastingTextColor(c));
            }
        }
    }
    for (QCPAbstractItem* item : dataRect_->items()) {
        if (auto* line = qobject_cast<QCPItemStraightLine*>(item))
            line->setPen(QPen(withAlpha(QColor(Qt::white), 170), presentationMode() ? 2 : 1, Qt::DashLine));
    }
    replot();
}

QString AttentionHeatmap::dataCsv() const {
    QString out = QStringLiteral("tile,layer,head,row_begin,row_end,col_begin,col_end,probability\n");
    const TokenWindow vr = visibleRows(), vc = visibleCols();
    auto dump = [&](const char* name, const HeatmapCells& c, const AttentionTile& tile) {
        for (int r = 0; r < c.rows; ++r) {
            if (c.rowEdges[r + 1] <= vr.begin || c.rowEdges[r] >= vr.end) continue;
            for (int k = 0; k < c.cols; ++k) {
                if (c.colEdges[k + 1] <= vc.begin || c.colEdges[k] >= vc.end) continue;
                const double v = c.at(r, k);
                out += QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8\n")
                           .arg(QLatin1String(name))
                           .arg(tile.request.layer)
                           .arg(tile.request.head)
                           .arg(c.rowEdges[r])
                           .arg(c.rowEdges[r + 1])
                           .arg(c.colEdges[k])
                           .arg(c.colEdges[k + 1])
                           .arg(std::isnan(v) ? QStringLiteral("0") : csvNumber(v));
            }
        }
    };
    dump("overview", overview_, overviewTile_);
    dump("detail", detail_, detailTile_);
    return out;
}

QJsonObject AttentionHeatmap::dataJson() const {
    auto cellsJson = [](const HeatmapCells& c, const AttentionTile& tile) {
        QJsonObject o;
        o[QStringLiteral("layer")] = tile.request.layer;
        o[QStringLiteral("head")] = tile.request.head;
        o[QStringLiteral("rows")] = c.rows;
        o[QStringLiteral("cols")] = c.cols;
        QJsonArray re, ce, values;
        for (int e : c.rowEdges) re.append(e);
        for (int e : c.colEdges) ce.append(e);
        for (double v : c.values) values.append(std::isnan(v) ? 0.0 : v);
        o[QStringLiteral("rowEdges")] = re;
        o[QStringLiteral("colEdges")] = ce;
        o[QStringLiteral("values")] = values;
        return o;
    };
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("attention_heatmap");
    o[QStringLiteral("title")] = title();
    o[QStringLiteral("scale")] = log_ ? QStringLiteral("log") : QStringLiteral("linear");
    const TokenWindow vr = visibleRows(), vc = visibleCols();
    o[QStringLiteral("view")] = QJsonObject{{QStringLiteral("rowBegin"), vr.begin},
                                            {QStringLiteral("rowEnd"), vr.end},
                                            {QStringLiteral("colBegin"), vc.begin},
                                            {QStringLiteral("colEnd"), vc.end}};
    if (!overview_.isEmpty()) o[QStringLiteral("overview")] = cellsJson(overview_, overviewTile_);
    if (!detail_.isEmpty()) o[QStringLiteral("detail")] = cellsJson(detail_, detailTile_);
    QJsonArray bands;
    for (const AxisBand& b : axisBands(info_, 0, info_.tokenCount()))
        bands.append(QJsonObject{{QStringLiteral("label"), b.label},
                                 {QStringLiteral("begin"), b.tokenBegin},
                                 {QStringLiteral("end"), b.tokenEnd}});
    o[QStringLiteral("segments")] = bands;
    return o;
}

}  // namespace attnscope::widgets
