#include "entropy_by_layer_plot.h"

#include <algorithm>
#include <cmath>

#include <QJsonArray>

#include <qcustomplot.h>

#include "color_maps.h"
#include "plan/encoding_options.h"

namespace attnscope::widgets {

EntropyByLayerPlot::EntropyByLayerPlot(QWidget* parent) : PlotView(parent) {
    rect_ = new QCPAxisRect(plot(), true);
    contentLayout()->addElement(0, 0, rect_);
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    x->setLabel(QStringLiteral("layer"));
    y->setLabel(QStringLiteral("query attention entropy (nats)"));
    setIntegerTicks(x);
    legend_ = addLegendBelow(3);
    applyStyle();
}

EntropyByLayerPlot::~EntropyByLayerPlot() = default;

QString EntropyByLayerPlot::legendText(const MethodSeries& s) {
    const QString name = s.label.isEmpty() ? s.method : s.label;
    if (std::isnan(s.mean)) return name;
    return QStringLiteral("%1 (mean %2 nats)").arg(name, QString::number(s.mean, 'f', 2));
}

void EntropyByLayerPlot::setSeries(const QList<MethodSeries>& series) {
    series_ = series;
    rebuild();
    Q_EMIT dataChanged();
}

void EntropyByLayerPlot::setLocalLayers(const QVector<bool>& local) {
    local_ = local;
    // The shaded layers' window: how it is measured decides what a chunk sees in parallel mode.
    const bool anyLocal = std::find(local_.begin(), local_.end(), true) != local_.end();
    setToolTip(anyLocal ? QStringLiteral("Shaded: local (sliding-window) layers. ") +
                              QString::fromUtf8(attnscope::kWindowRulesExplained)
                        : QString());
    rebuild();
}

void EntropyByLayerPlot::setActiveMethod(const QString& method) {
    for (MethodSeries& s : series_) s.active = s.method == method;
    rebuild();
}

QCPGraph* EntropyByLayerPlot::graphFor(const QString& method) const {
    for (int i = 0; i < plot()->graphCount(); ++i)
        if (plot()->graph(i)->property("method").toString() == method) return plot()->graph(i);
    return nullptr;
}

void EntropyByLayerPlot::rebuild() {
    QCustomPlot* p = plot();
    p->clearGraphs();
    p->clearItems();
    legend_->clearItems();
    const ValueSpan span = addSeriesGraphs();
    addLocalLayerBands();
    int layers = 0;
    for (const MethodSeries& s : series_) layers = std::max(layers, static_cast<int>(s.perLayer.size()));
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    if (layers > 0) x->setRange(-0.5, layers - 0.5);
    else x->setRange(-0.5, 0.5);
    fitValueAxis(rect_->axis(QCPAxis::atLeft), span, 0.08, 0, 1);
    if (auto ticker = x->ticker().dynamicCast<QCPAxisTickerFixed>())
        ticker->setTickStep(layers > 60 ? 10 : layers > 24 ? 4 : layers > 12 ? 2 : 1);
    applyStyle();
}

// One line per method; the legend in the fixed method order, the active method drawn last (on
// top). Returns the span of the values.
PlotView::ValueSpan EntropyByLayerPlot::addSeriesGraphs() {
    QList<int> order;
    for (int i = 0; i < series_.size(); ++i) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return methodOrder(series_[a].method) < methodOrder(series_[b].method); });
    QList<int> drawOrder = order;
    std::stable_partition(drawOrder.begin(), drawOrder.end(), [&](int i) { return !series_[i].active; });

    ValueSpan span;
    QHash<int, QCPGraph*> graphs;
    for (int i : drawOrder) {
        const MethodSeries& s = series_[i];
        QCPGraph* g = plot()->addGraph(rect_->axis(QCPAxis::atBottom), rect_->axis(QCPAxis::atLeft));
        g->setProperty("method", s.method);
        g->setProperty("active", s.active);
        g->setName(legendText(s));
        QVector<double> keys, values;
        for (int l = 0; l < s.perLayer.size(); ++l) {
            keys.push_back(l);
            values.push_back(s.perLayer[l]);
            span.add(s.perLayer[l]);
        }
        g->setData(keys, values, true);
        graphs.insert(i, g);
    }
    for (int i : order) graphs[i]->addToLegend(legend_);
    legend_->setVisible(!series_.isEmpty());
    return span;
}

// Local (sliding-window) layers: light bands behind the lines, and a note saying so.
void EntropyByLayerPlot::addLocalLayerBands() {
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    bool anyLocal = false;
    for (int l = 0; l < local_.size(); ++l) {
        if (!local_[l]) continue;
        anyLocal = true;
        auto* band = new QCPItemRect(plot());
        band->setClipAxisRect(rect_);
        band->setLayer(QStringLiteral("background"));
        for (QCPItemPosition* corner : {band->topLeft, band->bottomRight}) {
            corner->setAxes(x, y);
            corner->setTypeY(QCPItemPosition::ptAxisRectRatio);
            corner->setAxisRect(rect_);
        }
        band->topLeft->setCoords(l - 0.5, 0);
        band->bottomRight->setCoords(l + 0.5, 1);
        band->setProperty("localLayer", true);
    }
    if (!anyLocal) return;
    auto* note = new QCPItemText(plot());
    note->setClipAxisRect(rect_);
    note->position->setType(QCPItemPosition::ptAxisRectRatio);
    note->position->setAxisRect(rect_);
    note->position->setCoords(0.99, 0.02);
    note->setPositionAlignment(Qt::AlignTop | Qt::AlignRight);
    note->setText(QStringLiteral("shaded: local (sliding-window) layers"));
    note->setProperty("localNote", true);
}

void EntropyByLayerPlot::applyStyle() {
    PlotView::applyStyle();
    styleLinePlot({rect_}, legend_);
    const double w = lineWidth();
    QCustomPlot* p = plot();
    for (int i = 0; i < p->graphCount(); ++i) {
        QCPGraph* g = p->graph(i);
        const QString m = g->property("method").toString();
        const bool active = g->property("active").toBool();
        QPen pen(methodColor(m), active ? w * 2.0 : w, methodPenStyle(m));
        pen.setCapStyle(Qt::RoundCap);
        pen.setJoinStyle(Qt::RoundJoin);
        g->setPen(pen);
        QCPScatterStyle scatter(methodScatterShape(m), methodColor(m), active ? methodColor(m) : background(),
                                active ? 8 : 6);
        scatter.setPen(QPen(methodColor(m), std::max(1.0, w * 0.8)));
        g->setScatterStyle(scatter);
        if (QCPPlottableLegendItem* item = legend_->itemWithPlottable(g)) {
            QFont f = tickFont();
            f.setBold(active);  // the legend highlights the active method too
            item->setFont(f);
        }
    }
    for (int i = 0; i < p->itemCount(); ++i) {
        QCPAbstractItem* item = p->item(i);
        if (auto* band = qobject_cast<QCPItemRect*>(item); band && band->property("localLayer").toBool()) {
            band->setPen(Qt::NoPen);
            band->setBrush(QBrush(withAlpha(foreground(), darkPalette() ? 30 : 18)));
        } else if (auto* text = qobject_cast<QCPItemText*>(item)) {
            text->setFont(smallFont());
            text->setColor(withAlpha(foreground(), 170));
        }
    }
    replot();
}

QString EntropyByLayerPlot::dataCsv() const {
    QString out = QStringLiteral("layer");
    int layers = 0;
    for (const MethodSeries& s : series_) {
        out += QLatin1Char(',') + csvField(s.label.isEmpty() ? s.method : s.label);
        layers = std::max(layers, static_cast<int>(s.perLayer.size()));
    }
    if (!local_.isEmpty()) out += QStringLiteral(",local");
    out += QLatin1Char('\n');
    for (int l = 0; l < layers; ++l) {
        out += QString::number(l);
        for (const MethodSeries& s : series_)
            out += QLatin1Char(',') + (l < s.perLayer.size() ? csvNumber(s.perLayer[l]) : QString());
        if (!local_.isEmpty()) out += QLatin1Char(',') + QString::number(l < local_.size() && local_[l] ? 1 : 0);
        out += QLatin1Char('\n');
    }
    out += QStringLiteral("mean");
    for (const MethodSeries& s : series_) out += QLatin1Char(',') + csvNumber(s.mean);
    if (!local_.isEmpty()) out += QLatin1Char(',');
    out += QLatin1Char('\n');
    return out;
}

QJsonObject EntropyByLayerPlot::dataJson() const {
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("entropy_by_layer");
    o[QStringLiteral("title")] = title();
    o[QStringLiteral("unit")] = QStringLiteral("nats");
    QJsonArray arr;
    for (const MethodSeries& s : series_) {
        QJsonArray values;
        for (double v : s.perLayer) values.append(std::isnan(v) ? QJsonValue() : QJsonValue(v));
        arr.append(QJsonObject{{QStringLiteral("method"), s.method},
                               {QStringLiteral("label"), s.label.isEmpty() ? s.method : s.label},
                               {QStringLiteral("mean"), std::isnan(s.mean) ? QJsonValue() : QJsonValue(s.mean)},
                               {QStringLiteral("active"), s.active},
                               {QStringLiteral("perLayer"), values}});
    }
    o[QStringLiteral("series")] = arr;
    if (!local_.isEmpty()) {
        QJsonArray local;
        for (bool b : local_) local.append(b);
        o[QStringLiteral("localLayers")] = local;
    }
    return o;
}

}  // namespace attnscope::widgets
