#include "plot_view.h"

#include <QFontMetricsF>
#include <QRegularExpression>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include "color_maps.h"

namespace attnscope::widgets {

PlotView::PlotView(QWidget* parent) : FigureView(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    plot_ = new QCustomPlot(this);
    layout->addWidget(plot_);
    plot_->setAutoAddPlottableToLegend(false);
    plot_->setNoAntialiasingOnDrag(false);
    plot_->setAntialiasedElements(QCP::aeAll);
    plot_->setNotAntialiasedElements(QCP::aeNone);
    // Start from an empty layout: subclasses build theirs inside contentLayout(), the title row
    // (when set) sits above it.
    plot_->plotLayout()->clear();
    content_ = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(0, 0, content_);
    plot_->plotLayout()->setRowSpacing(0);
    content_->setRowSpacing(4);
    content_->setColumnSpacing(8);
    setFocusPolicy(Qt::StrongFocus);
    connect(plot_, &QCustomPlot::afterLayout, this, &PlotView::adaptLayout);
}

PlotView::~PlotView() {
    // The title element lives outside the plot's layout while the title is empty.
    if (titleElement_ && !titleElement_->layout()) delete titleElement_;
}

void PlotView::setTitle(const QString& title) {
    FigureView::setTitle(title);
    QCPLayoutGrid* top = plot_->plotLayout();
    if (title.isEmpty()) {
        if (titleElement_ && titleElement_->layout()) {
            top->take(titleElement_);
            top->simplify();
        }
    } else {
        if (!titleElement_) titleElement_ = new QCPTextElement(plot_);
        titleElement_->setText(title);
        if (!titleElement_->layout()) {
            top->insertRow(0);
            top->addElement(0, 0, titleElement_);
        }
    }
    applyStyle();
}

void PlotView::renderFigure(QPainter& painter, const QSize& size) {
    plot_->toPainter(static_cast<QCPPainter*>(&painter), size.width(), size.height());
}

bool PlotView::exportFigure(const QString& path, double scale, QString* error) {
    const bool ok = FigureView::exportFigure(path, scale, error);
    // Exporting lays the plot out at the figure size; lay it out for the screen again.
    plot_->replot(QCustomPlot::rpImmediateRefresh);
    return ok;
}

// Small: a panel too small for a readable plot shows its compact form instead.
QSize PlotView::minimumSizeHint() const { return {120, 90}; }

QFont PlotView::labelFont() const { return scaledFont(1.0); }
QFont PlotView::tickFont() const { return scaledFont(0.9); }
QFont PlotView::smallFont() const { return scaledFont(0.85); }

QColor PlotView::foreground() const { return palette().color(QPalette::Text); }
QColor PlotView::background() const { return palette().color(QPalette::Base); }

QColor PlotView::gridColor() const { return withAlpha(foreground(), darkPalette() ? 45 : 35); }

void PlotView::styleAxis(QCPAxis* axis) const {
    if (!axis) return;
    const QColor fg = foreground();
    const double w = presentationMode() ? 1.5 : 1.0;
    QPen pen(fg, w);
    pen.setCosmetic(false);
    axis->setBasePen(pen);
    axis->setTickPen(pen);
    axis->setSubTickPen(QPen(fg, w * 0.8));
    axis->setLabelColor(fg);
    axis->setTickLabelColor(fg);
    axis->setLabelFont(labelFont());
    axis->setTickLabelFont(tickFont());
    axis->setSelectedLabelFont(labelFont());
    axis->setSelectedTickLabelFont(tickFont());
    axis->setTickLengthIn(0);
    axis->setTickLengthOut(presentationMode() ? 6 : 4);
    axis->setSubTickLengthIn(0);
    axis->setSubTickLengthOut(presentationMode() ? 3 : 2);
    axis->setLabelPadding(presentationMode() ? 8 : 5);
    axis->setTickLabelPadding(presentationMode() ? 5 : 3);
    axis->grid()->setPen(QPen(gridColor(), 1, Qt::SolidLine));
    axis->grid()->setZeroLinePen(Qt::NoPen);
    axis->grid()->setSubGridVisible(false);
}

void PlotView::styleAxisRect(QCPAxisRect* rect) const {
    if (!rect) return;
    for (QCPAxis* axis : rect->axes()) styleAxis(axis);
    rect->setBackground(Qt::NoBrush);
}

void PlotView::styleColorScale(QCPColorScale* scale) const {
    if (!scale) return;
    styleAxis(scale->axis());
    scale->axis()->grid()->setVisible(false);
    scale->setBarWidth(presentationMode() ? 22 : 14);
}

void PlotView::styleLegend(QCPLegend* legend) const {
    if (!legend) return;
    legend->setFont(tickFont());
    legend->setSelectedFont(tickFont());
    legend->setTextColor(foreground());
    legend->setBrush(QBrush(withAlpha(background(), 225)));
    legend->setBorderPen(QPen(withAlpha(foreground(), 70), 1));
    legend->setIconSize(presentationMode() ? QSize(40, 18) : QSize(28, 12));
    legend->setRowSpacing(presentationMode() ? 2 : 0);
    legend->setMargins(QMargins(6, 4, 8, 4));
}

void PlotView::styleLinePlot(std::initializer_list<QCPAxisRect*> rects, QCPLegend* legend) const {
    for (QCPAxisRect* rect : rects) {
        styleAxisRect(rect);
        rect->axis(QCPAxis::atBottom)->grid()->setVisible(false);
    }
    styleLegend(legend);
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
}

QCPLegend* PlotView::addLegendBelow(int columns) {
    auto* legend = new QCPLegend;
    content_->addElement(1, 0, legend);
    content_->setRowStretchFactor(1, 0.001);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setWrap(columns);
    legend->setProperty("maxColumns", columns);
    legend->setLayer(QStringLiteral("legend"));
    return legend;
}

void PlotView::setIntegerTicks(QCPAxis* axis) {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
    axis->setSubTicks(false);
    axis->grid()->setVisible(false);
}

void PlotView::fitValueAxis(QCPAxis* axis, const ValueSpan& span, double padding, double fallbackLo,
                            double fallbackHi) {
    if (span.empty()) {
        axis->setRange(fallbackLo, fallbackHi);
        return;
    }
    const double pad = std::max(0.05, (span.hi - span.lo) * padding);
    axis->setRange(std::max(0.0, span.lo - pad), span.hi + pad);
}

void PlotView::applyStyle() {
    plot_->setBackground(QBrush(background()));
    if (titleElement_) {
        QFont f = font();
        f.setPointSizeF(baseFontPointSize() * 1.2);
        f.setBold(true);
        titleElement_->setFont(f);
        titleElement_->setTextColor(foreground());
        titleElement_->setMargins(QMargins(8, 6, 8, 2));
    }
    replot();
}

void PlotView::replot() { plot_->replot(QCustomPlot::rpQueuedReplot); }

}  // namespace attnscope::widgets

// ---------------------------------------------------------------- layout that never clips

namespace attnscope::widgets {

namespace {

// Where a legend sits: in its own cell of the content grid (below), or in a holder grid beside
// the plot whose second row takes the spare height.
void placeLegend(QCPLayoutGrid* content, QCPLegend* legend, LegendPlace place) {
    const bool beside = legend->layout() != content;
    if (beside == (place == LegendPlace::Right)) return;
    auto* holder = beside ? qobject_cast<QCPLayoutGrid*>(legend->layout()) : nullptr;
    legend->layout()->take(legend);
    if (holder) content->remove(holder);
    content->simplify();
    if (place == LegendPlace::Right) {
        holder = new QCPLayoutGrid;
        const int column = content->columnCount();
        content->addElement(0, column, holder);
        content->setColumnStretchFactor(column, 0.001);
        holder->addElement(0, 0, legend);
        holder->expandTo(2, 1);
        holder->setRowStretchFactors({0.001, 1.0});
    } else {
        const int row = content->rowCount();
        content->addElement(row, 0, legend);
        content->setRowStretchFactor(row, 0.001);
    }
}

// A colour map as an image of its cells, each coloured by the map's gradient.
QImage colorMapImage(QCPColorMap* map) {
    QCPColorMapData* d = map->data();
    const int nx = d->keySize(), ny = d->valueSize();
    QImage image(std::max(1, nx), std::max(1, ny), QImage::Format_ARGB32);
    image.fill(Qt::transparent);
    const bool log = map->dataScaleType() == QCPAxis::stLogarithmic;
    for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
            const double v = d->cell(x, y);
            if (std::isfinite(v)) image.setPixel(x, ny - 1 - y, map->gradient().color(v, map->dataRange(), log));
        }
    return image;
}

}  // namespace

void PlotView::paintSparkline(QPainter& painter, QCPAbstractPlottable* plottable, const QRectF& cell) {
    if (auto* map = qobject_cast<QCPColorMap*>(plottable)) {
        const bool flip = plottable->valueAxis()->rangeReversed();
        const QImage image = colorMapImage(map);
        painter.drawImage(cell, flip ? image.mirrored(false, true) : image);
        return;
    }
    auto* graph = qobject_cast<QCPGraph*>(plottable);
    if (!graph || !graph->visible()) return;
    const QCPRange kr = graph->keyAxis()->range(), vr = graph->valueAxis()->range();
    QPolygonF line;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        if (!std::isfinite(it->value)) continue;
        const double x = (it->key - kr.lower) / std::max(1e-12, kr.size());
        const double y = (it->value - vr.lower) / std::max(1e-12, vr.size());
        line << QPointF(cell.left() + x * cell.width(), cell.bottom() - y * cell.height());
    }
    painter.setPen(QPen(graph->pen().color(), 1.5));
    painter.drawPolyline(line);
}

namespace {

// A tick label's size as QCustomPlot draws it: "1e-04" in a "b" (beautiful) number format is
// drawn as 10 with a superscript −4 at three quarters of the size.
QSizeF tickLabelSize(const QCPAxis* axis, const QString& text) {
    const QFontMetricsF fm(axis->tickLabelFont());
    const qsizetype e = text.indexOf(QLatin1Char('e'));
    if (!axis->numberFormat().contains(QLatin1Char('b')) || e < 0) return fm.size(Qt::TextSingleLine, text);
    QString exponent = text.mid(e + 1);
    exponent.remove(QLatin1Char('+'));
    exponent.replace(QRegularExpression(QStringLiteral("^(-?)0+(?=\\d)")), QStringLiteral("\\1"));
    const QString mantissa = text.left(e);
    const QString base = mantissa == QLatin1String("1") ? QStringLiteral("10") : mantissa + QStringLiteral("·10");
    QFont small = axis->tickLabelFont();
    small.setPointSizeF(small.pointSizeF() * 0.75);
    const QSizeF b = fm.size(Qt::TextSingleLine, base), x = QFontMetricsF(small).size(Qt::TextSingleLine, exponent);
    return {b.width() + x.width(), b.height() + x.height() * 0.3};
}

void addAxisBoxes(const QCPAxis* axis, QList<TextBox>& out) {
    if (!axis->visible() || !axis->axisRect()) return;
    const QRectF r = axis->axisRect()->rect();
    const QCPAxis::AxisType side = axis->axisType();
    const bool vertical = axis->orientation() == Qt::Vertical;
    const double distance = axis->offset() + std::max(0, axis->tickLengthOut()) + axis->tickLabelPadding();
    const QVector<double> ticks = axis->tickVector();
    const QVector<QString> labels = axis->tickVectorLabels();
    double thickness = 0;  // of the tick labels, across the axis
    for (qsizetype i = 0; axis->tickLabels() && i < ticks.size() && i < labels.size(); ++i) {
        if (labels[i].isEmpty() || !axis->range().contains(ticks[i])) continue;
        const QSizeF s = tickLabelSize(axis, labels[i]);
        const double p = axis->coordToPixel(ticks[i]);
        QRectF box(0, 0, s.width(), s.height());
        if (side == QCPAxis::atLeft) box.moveTopRight({r.left() - distance, p - s.height() / 2});
        else if (side == QCPAxis::atRight) box.moveTopLeft({r.right() + distance, p - s.height() / 2});
        else if (side == QCPAxis::atBottom) box.moveTopLeft({p - s.width() / 2, r.bottom() + distance});
        else box.moveBottomLeft({p - s.width() / 2, r.top() - distance});
        thickness = std::max(thickness, vertical ? s.width() : s.height());
        out << TextBox{QStringLiteral("tick label"), labels[i], box};
    }
    if (axis->label().isEmpty()) return;
    const QSizeF s = QFontMetricsF(axis->labelFont()).size(Qt::TextSingleLine, axis->label());
    const double d = distance + thickness + axis->labelPadding();
    QRectF box = vertical ? QRectF(0, 0, s.height(), s.width()) : QRectF(0, 0, s.width(), s.height());
    box.moveCenter(r.center());
    if (side == QCPAxis::atLeft) box.moveRight(r.left() - d);
    else if (side == QCPAxis::atRight) box.moveLeft(r.right() + d);
    else if (side == QCPAxis::atBottom) box.moveTop(r.bottom() + d);
    else box.moveBottom(r.top() - d);
    out << TextBox{QStringLiteral("axis title"), axis->label(), box};
}

}  // namespace

QList<QCPAxis*> PlotView::allAxes() const {
    QList<QCPAxis*> axes;
    for (QCPAxisRect* rect : plot_->axisRects()) axes += rect->axes();
    for (QCPLayoutElement* e : plot_->plotLayout()->elements(true))
        if (auto* scale = qobject_cast<QCPColorScale*>(e)) axes << scale->axis();
    return axes;
}

QList<TextBox> PlotView::textBoxes() const {
    QList<TextBox> out;
    if (titleElement_ && titleElement_->layout() && !titleElement_->text().isEmpty()) {
        QRectF box({}, QFontMetricsF(titleElement_->font()).size(Qt::TextSingleLine, titleElement_->text()));
        box.moveCenter(QRectF(titleElement_->rect()).center());
        out << TextBox{QStringLiteral("title"), titleElement_->text(), box};
    }
    for (const QCPAxis* axis : allAxes()) addAxisBoxes(axis, out);
    for (QCPLayoutElement* e : plot_->plotLayout()->elements(true)) {
        auto* legend = qobject_cast<QCPLegend*>(e);
        if (!legend || !legend->visible()) continue;
        for (int i = 0; i < legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i)))
                out << TextBox{QStringLiteral("legend entry"), item->plottable()->name(), item->rect()};
    }
    return out;
}

// Readable: every data area at least 3.5 tick labels high and 10 characters wide. Estimated from
// the last layout on screen (the rest of the plot keeps its size as the plot grows); before the
// first one, the font-based default.
QSize PlotView::readableSize() const {
    const QFontMetrics fm(tickFont());
    const QSize minData(fm.averageCharWidth() * 10, fm.height() * 7 / 2);
    const QList<QRect>& data = shownLayout_.dataRects;
    if (data.isEmpty()) return FigureView::readableSize();
    QSize need(0, 0);
    for (const QRect& r : data) {
        int beside = 0, above = 0;  // data areas in the same row / column share the growth
        for (const QRect& q : data) {
            beside += q.top() < r.bottom() && q.bottom() > r.top();
            above += q.left() < r.right() && q.right() > r.left();
        }
        need = need.expandedTo({shownLayout_.size.width() + std::max(0, minData.width() - r.width()) * beside,
                                shownLayout_.size.height() + std::max(0, minData.height() - r.height()) * above});
    }
    return need;
}

void PlotView::paintCompact(QPainter& painter, const QRectF& area) {
    QList<QCPAxisRect*> rects;
    for (QCPAxisRect* rect : plot_->axisRects())
        if (!rect->plottables().isEmpty()) rects << rect;
    if (rects.isEmpty()) return;
    const double w = area.width() / rects.size();
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    for (qsizetype i = 0; i < rects.size(); ++i) {
        const QRectF cell = QRectF(area.left() + i * w, area.top(), w, area.height()).adjusted(4, 2, -4, -2);
        for (QCPAbstractPlottable* p : rects[i]->plottables()) paintSparkline(painter, p, cell);
    }
    painter.restore();
}

void PlotView::adaptLayout() {
    if (adapting_) return;
    adapting_ = true;
    for (int pass = 0; pass < 3; ++pass) {
        bool changed = fitTitle();
        for (QCPLayoutElement* e : plot_->plotLayout()->elements(true))
            if (auto* legend = qobject_cast<QCPLegend*>(e)) changed = fitLegend(legend) || changed;
        for (QCPAxis* axis : allAxes()) changed = fitAxis(axis) || changed;
        if (!changed) break;
        QCPLayoutGrid* top = plot_->plotLayout();
        top->update(QCPLayoutElement::upPreparation);
        top->update(QCPLayoutElement::upMargins);
        top->update(QCPLayoutElement::upLayout);
    }
    adapting_ = false;
    if (!plot_->isVisible() || plot_->viewport().size() != plot_->size()) return;  // an export: not the screen
    shownLayout_ = {plot_->size(), {}};
    for (QCPAxisRect* rect : plot_->axisRects())
        if (!rect->plottables().isEmpty() && rect->rect().width() > 0 && rect->rect().height() > 0)
            shownLayout_.dataRects << rect->rect();
    Q_EMIT layoutAdapted();
}

bool PlotView::fitTitle() {
    if (!titleElement_ || !titleElement_->layout()) return false;
    const QString shown = QFontMetricsF(titleElement_->font())
                              .elidedText(title(), Qt::ElideRight, std::max(20, plot_->viewport().width() - 16));
    if (shown == titleElement_->text()) return false;
    titleElement_->setText(shown);
    return true;
}

bool PlotView::fitAxis(QCPAxis* axis) {
    if (!axis->visible() || !axis->axisRect()) return false;
    const bool vertical = axis->orientation() == Qt::Vertical;
    const QRect r = axis->axisRect()->rect();
    const double length = vertical ? r.height() : r.width();
    bool changed = false;
    if (axis->ticker() && !axis->ticker().dynamicCast<QCPAxisTickerText>()) {
        const QFontMetricsF fm(axis->tickLabelFont());
        double extent = fm.height();
        if (!vertical)
            for (const QString& l : axis->tickVectorLabels()) extent = std::max(extent, fm.horizontalAdvance(l));
        const int ticks = ticksThatFit(length, extent, vertical ? fm.height() * 0.8 : fm.averageCharWidth() * 2);
        if (axis->ticker()->tickCount() != ticks) {
            axis->ticker()->setTickCount(ticks);  // the next layout pass makes the ticks
            // Few ticks: exactly as many as fit, even at a less round step.
            axis->ticker()->setTickStepStrategy(ticks < 4 ? QCPAxisTicker::tssMeetTickCount
                                                          : QCPAxisTicker::tssReadability);
            changed = true;
        }
    }
    changed = fitOverhang(axis) || changed;
    if (axis->label() != axis->property("shownLabel").toString())
        axis->setProperty("fullLabel", axis->label());  // the view set a new title
    const QString full = axis->property("fullLabel").toString();
    const QFontMetricsF lm(axis->labelFont());
    const QString label = firstThatFits(
        labelVariants(full), [&lm](const QString& t) { return lm.horizontalAdvance(t); }, length);
    axis->setProperty("shownLabel", label);
    if (label == axis->label()) return changed;
    axis->setLabel(label);
    return true;
}

// The first and last tick labels reach past the axis rect by half their size: keep that much
// margin beside the rect so they stay inside the plot.
bool PlotView::fitOverhang(QCPAxis* axis) {
    QCPAxisRect* rect = axis->axisRect();
    if (!axis->tickLabels() || !plot_->axisRects().contains(rect)) return false;  // not a colour bar
    if (axis->axisType() == QCPAxis::atBottom && fitCorner(axis)) return true;
    double half = 0;
    for (const QString& l : axis->tickVectorLabels()) {
        const QSizeF s = tickLabelSize(axis, l);
        half = std::max(half, (axis->orientation() == Qt::Vertical ? s.height() : s.width()) / 2);
    }
    QMargins m = rect->minimumMargins();
    const int need = static_cast<int>(std::ceil(half)) + 2;
    if (axis->orientation() == Qt::Vertical && m.top() < need) m.setTop(need);
    else if (axis->orientation() == Qt::Horizontal && m.right() < need) m.setRight(need);
    else return false;
    rect->setMinimumMargins(m);
    return true;
}

// The left axis's lowest tick label reaches below the rect by half its height: the bottom
// axis's labels start below it, so the two never meet in the corner.
bool PlotView::fitCorner(QCPAxis* bottom) {
    const QCPAxis* left = bottom->axisRect()->axis(QCPAxis::atLeft);
    if (!left || !left->visible() || !left->tickLabels()) return false;
    double half = 0;
    for (const QString& l : left->tickVectorLabels()) half = std::max(half, tickLabelSize(left, l).height() / 2);
    const int distance = bottom->offset() + std::max(0, bottom->tickLengthOut()) + bottom->tickLabelPadding();
    const int need = static_cast<int>(std::ceil(half)) + 1;
    if (distance >= need) return false;
    bottom->setTickLabelPadding(bottom->tickLabelPadding() + need - distance);
    return true;
}

bool PlotView::fitLegend(QCPLegend* legend) {
    if (!legend->visible() || legend->itemCount() == 0) return false;
    QList<double> widths;
    double height = 0;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (QCPAbstractLegendItem* item = legend->item(i)) {
            const QSize hint = item->minimumOuterSizeHint();
            widths << hint.width() + legend->columnSpacing();
            height = std::max(height, double(hint.height() + legend->rowSpacing()));
        }
    const int maxColumns = legend->property("maxColumns").toInt();
    const LegendFit fit = widgets::fitLegend(widths, height, plot_->viewport().size(), std::max(1, maxColumns));
    const bool wasBeside = legend->layout() != content_;
    placeLegend(content_, legend, fit.place);
    if (legend->wrap() == fit.columns && wasBeside == (fit.place == LegendPlace::Right)) return false;
    legend->setWrap(fit.columns);
    legend->setFillOrder(legend->fillOrder(), true);  // re-flow the entries
    return true;
}

}  // namespace attnscope::widgets
