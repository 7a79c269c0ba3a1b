#include "plot_view.h"

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

QSize PlotView::minimumSizeHint() const { return {260, 200}; }

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
