#include "layer_head_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QJsonArray>
#include <QToolTip>

#include <qcustomplot.h>

namespace attnscope::widgets {

LayerHeadGrid::LayerHeadGrid(QWidget* parent)
    : PlotView(parent), valueLabel_(QStringLiteral("query attention entropy (nats)")) {
    QCustomPlot* p = plot();
    rect_ = new QCPAxisRect(p, true);
    scale_ = new QCPColorScale(p);
    scale_->setType(QCPAxis::atRight);
    contentLayout()->addElement(0, 0, rect_);
    contentLayout()->addElement(0, 1, scale_);
    contentLayout()->setColumnStretchFactors({1.0, 0.001});
    auto* group = new QCPMarginGroup(p);
    rect_->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    scale_->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    scale_->axis()->setLabel(valueLabel_);

    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    x->setLabel(QStringLiteral("head"));
    y->setLabel(QStringLiteral("layer"));
    setIntegerTicks(x);
    setIntegerTicks(y);

    map_ = new QCPColorMap(x, y);
    map_->setInterpolate(false);
    map_->setTightBoundary(false);
    map_->setColorScale(scale_);
    marker_ = new QCPItemRect(p);
    marker_->setClipAxisRect(rect_);
    marker_->topLeft->setAxes(x, y);
    marker_->bottomRight->setAxes(x, y);
    marker_->setVisible(false);
    marker_->setSelectable(false);

    connect(p, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        int layer, head;
        if (!cellAt(e->position(), &layer, &head)) return;
        setSelected(layer, head);
        Q_EMIT headSelected(layer, head);
    });
    connect(p, &QCustomPlot::mouseMove, this, &LayerHeadGrid::onMouseMove);
    setGradient(ColorMapKind::Viridis);
    applyStyle();
}

// A tooltip with the cell's layer, head and value; headHovered(-1, -1, NaN) on leaving the cells.
void LayerHeadGrid::onMouseMove(QMouseEvent* e) {
    int layer, head;
    if (!cellAt(e->position(), &layer, &head)) {
        if (property("attnscopeHovering").toBool()) {
            setProperty("attnscopeHovering", false);
            QToolTip::hideText();
            Q_EMIT headHovered(-1, -1, std::numeric_limits<double>::quiet_NaN());
        }
        return;
    }
    setProperty("attnscopeHovering", true);
    const double v = valueAt(layer, head);
    QToolTip::showText(
        e->globalPosition().toPoint(),
        QStringLiteral("layer %1, head %2<br>%3: <b>%4</b>")
            .arg(layer)
            .arg(head)
            .arg(valueLabel_.toHtmlEscaped(), std::isnan(v) ? QStringLiteral("—") : QString::number(v, 'f', 3)),
        plot());
    Q_EMIT headHovered(layer, head, v);
}

LayerHeadGrid::~LayerHeadGrid() = default;

void LayerHeadGrid::setEntropy(int layers, int heads, const QVector<double>& values) {
    if (layers < 0 || heads < 0 || values.size() != static_cast<qsizetype>(layers) * heads) {
        layers = heads = 0;
    }
    layers_ = layers;
    heads_ = heads;
    values_ = layers_ > 0 ? values : QVector<double>{};
    if (selLayer_ >= layers_ || selHead_ >= heads_) selLayer_ = selHead_ = -1;
    rebuild();
    Q_EMIT dataChanged();
}

double LayerHeadGrid::valueAt(int layer, int head) const {
    if (layer < 0 || head < 0 || layer >= layers_ || head >= heads_) return std::numeric_limits<double>::quiet_NaN();
    return values_[layer * heads_ + head];
}

void LayerHeadGrid::setValueLabel(const QString& label) {
    valueLabel_ = label;
    scale_->axis()->setLabel(label);
    replot();
}

void LayerHeadGrid::setGradient(ColorMapKind kind) {
    gradientKind_ = kind;
    map_->setGradient(gradient(kind));
    replot();
}

void LayerHeadGrid::setSelected(int layer, int head) {
    if (layer < 0 || head < 0 || layer >= layers_ || head >= heads_) layer = head = -1;
    selLayer_ = layer;
    selHead_ = head;
    updateMarker();
    replot();
}

void LayerHeadGrid::rebuild() {
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    if (layers_ == 0 || heads_ == 0) {
        map_->data()->clear();
        map_->setVisible(false);
        x->setRange(-0.5, 0.5);
        y->setRange(-0.5, 0.5);
        updateMarker();
        replot();
        return;
    }
    // QCPColorMap needs two cells per direction to size them; one head/layer is drawn as two
    // identical halves.
    const int kx = heads_ == 1 ? 2 : 1, ky = layers_ == 1 ? 2 : 1;
    const int nx = heads_ * kx, ny = layers_ * ky;
    const double w = static_cast<double>(heads_) / nx, h = static_cast<double>(layers_) / ny;
    auto* data = new QCPColorMapData(nx, ny, QCPRange(-0.5 + w / 2, heads_ - 0.5 - w / 2),
                                     QCPRange(-0.5 + h / 2, layers_ - 0.5 - h / 2));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int l = 0; l < ny; ++l)
        for (int hd = 0; hd < nx; ++hd) {
            const double v = values_[(l / ky) * heads_ + hd / kx];
            data->setCell(hd, l, v);
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    map_->setData(data, false);
    map_->setVisible(true);
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi <= lo) hi = lo + 1e-6;
    map_->setDataRange(QCPRange(lo, hi));
    x->setRange(-0.5, heads_ - 0.5);
    y->setRange(-0.5, layers_ - 0.5);
    auto step = [](int n) { return n > 64 ? 16.0 : n > 32 ? 8.0 : n > 16 ? 4.0 : n > 10 ? 2.0 : 1.0; };
    if (auto t = x->ticker().dynamicCast<QCPAxisTickerFixed>()) t->setTickStep(step(heads_));
    if (auto t = y->ticker().dynamicCast<QCPAxisTickerFixed>()) t->setTickStep(step(layers_));
    updateMarker();
    replot();
}

void LayerHeadGrid::updateMarker() {
    const bool on = selLayer_ >= 0 && selHead_ >= 0;
    marker_->setVisible(on);
    if (!on) return;
    marker_->topLeft->setCoords(selHead_ - 0.5, selLayer_ + 0.5);
    marker_->bottomRight->setCoords(selHead_ + 0.5, selLayer_ - 0.5);
}

bool LayerHeadGrid::cellAt(const QPointF& pixel, int* layer, int* head) const {
    if (layers_ == 0 || heads_ == 0 || !rect_->rect().contains(pixel.toPoint())) return false;
    const int h = static_cast<int>(std::lround(rect_->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x())));
    const int l = static_cast<int>(std::lround(rect_->axis(QCPAxis::atLeft)->pixelToCoord(pixel.y())));
    if (h < 0 || l < 0 || h >= heads_ || l >= layers_) return false;
    *layer = l;
    *head = h;
    return true;
}

QPoint LayerHeadGrid::cellCenter(int layer, int head) const {
    if (layer < 0 || head < 0 || layer >= layers_ || head >= heads_) return {-1, -1};
    // Make sure the axis rect has its current geometry.
    if (rect_->rect().isEmpty()) plot()->replot(QCustomPlot::rpImmediateRefresh);
    const double px = rect_->axis(QCPAxis::atBottom)->coordToPixel(head);
    const double py = rect_->axis(QCPAxis::atLeft)->coordToPixel(layer);
    return plot()->mapTo(this, QPoint(static_cast<int>(std::lround(px)), static_cast<int>(std::lround(py))));
}

void LayerHeadGrid::applyStyle() {
    PlotView::applyStyle();
    styleAxisRect(rect_);
    for (QCPAxis* a : rect_->axes()) a->grid()->setVisible(false);
    styleColorScale(scale_);
    QPen pen(darkPalette() ? QColor(Qt::white) : QColor(Qt::black), presentationMode() ? 4 : 2.5);
    pen.setJoinStyle(Qt::MiterJoin);
    marker_->setPen(pen);
    marker_->setBrush(Qt::NoBrush);
    replot();
}

QString LayerHeadGrid::dataCsv() const {
    QString out = QStringLiteral("layer,head,%1\n").arg(csvField(valueLabel_));
    for (int l = 0; l < layers_; ++l)
        for (int h = 0; h < heads_; ++h)
            out += QStringLiteral("%1,%2,%3\n").arg(l).arg(h).arg(csvNumber(values_[l * heads_ + h]));
    return out;
}

QJsonObject LayerHeadGrid::dataJson() const {
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("layer_head_grid");
    o[QStringLiteral("title")] = title();
    o[QStringLiteral("value")] = valueLabel_;
    o[QStringLiteral("layers")] = layers_;
    o[QStringLiteral("heads")] = heads_;
    QJsonArray rows;
    for (int l = 0; l < layers_; ++l) {
        QJsonArray row;
        for (int h = 0; h < heads_; ++h) {
            const double v = values_[l * heads_ + h];
            row.append(std::isnan(v) ? QJsonValue() : QJsonValue(v));
        }
        rows.append(row);
    }
    o[QStringLiteral("values")] = rows;
    if (selLayer_ >= 0)
        o[QStringLiteral("selected")] =
            QJsonObject{{QStringLiteral("layer"), selLayer_}, {QStringLiteral("head"), selHead_}};
    return o;
}

}  // namespace attnscope::widgets
