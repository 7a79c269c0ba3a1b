#include "entropy_sequence_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QJsonArray>

#include <qcustomplot.h>

#include "color_maps.h"

namespace attnscope::widgets {
namespace {
const char* kBand = "attnscopeBand";          // int: band index (rects and labels)
const char* kBoundary = "attnscopeBoundary";  // bool: segment boundary line
}  // namespace

EntropySequencePlot::EntropySequencePlot(QWidget* parent) : PlotView(parent) {
    QCustomPlot* p = plot();
    rect_ = new QCPAxisRect(p, true);
    contentLayout()->addElement(0, 0, rect_);
    legend_ = addLegendBelow(3);

    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    x->setLabel(QStringLiteral("token position (physical order)"));
    y->setLabel(QStringLiteral("attention entropy (nats)"));
    x->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    x->setSubTicks(false);
    x->grid()->setVisible(false);

    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    rect_->setRangeDrag(Qt::Horizontal);
    rect_->setRangeZoom(Qt::Horizontal);
    connect(x, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, x](const QCPRange& r) {
        const int n = info_.tokenCount();
        if (n <= 0) return;
        const double lo = -0.5, hi = std::max(n, static_cast<int>(currentValues_.size())) - 0.5;
        const double size = std::clamp(r.size(), std::min(8.0, hi - lo), hi - lo);
        const double lower = std::clamp(r.center() - size / 2, lo, hi - size);
        if (std::abs(lower - r.lower) > 1e-9 || std::abs(lower + size - r.upper) > 1e-9)
            x->setRange(lower, lower + size);
    });
    connect(p, &QCustomPlot::beforeReplot, this, [this] { updateTicks(); });
    connect(p, &QCustomPlot::afterLayout, this, [this] { fitBandLabels(); });
    applyStyle();
}

EntropySequencePlot::~EntropySequencePlot() = default;

void EntropySequencePlot::setAxisInfo(const TokenAxisInfo& info) {
    info_ = info;
    rebuildBands();
    rebuild();
}

void EntropySequencePlot::setCurves(const QVector<double>& current, const QString& currentLabel,
                                    const QVector<double>& full, const QString& fullLabel) {
    currentValues_ = current;
    currentLabel_ = currentLabel;
    fullValues_ = full;
    fullLabel_ = fullLabel;
    rebuild();
    Q_EMIT dataChanged();
}

void EntropySequencePlot::setCurveMethods(const QString& currentMethod, const QString& fullMethod) {
    currentMethod_ = currentMethod;
    fullMethod_ = fullMethod;
    applyStyle();
}

void EntropySequencePlot::setSmoothing(int window) {
    smoothing_ = std::max(0, window);
    rebuild();
}

void EntropySequencePlot::rebuildBands() {
    QCustomPlot* p = plot();
    for (QCPAbstractItem* item : rect_->items())
        if (item->property(kBand).isValid() || item->property(kBoundary).isValid()) p->removeItem(item);
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    const QVector<AxisBand> bands = axisBands(info_, 0, info_.tokenCount());
    for (int i = 0; i < bands.size(); ++i) {
        auto* r = new QCPItemRect(p);
        r->setClipAxisRect(rect_);
        r->setLayer(QStringLiteral("background"));
        for (QCPItemPosition* pos : {r->topLeft, r->bottomRight}) {
            pos->setAxes(x, y);
            pos->setAxisRect(rect_);
            pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
        }
        r->topLeft->setCoords(bands[i].lower, 0);
        r->bottomRight->setCoords(bands[i].upper, 1);
        r->setProperty(kBand, i);
        auto* t = new QCPItemText(p);
        t->setClipAxisRect(rect_);
        t->position->setAxes(x, y);
        t->position->setAxisRect(rect_);
        t->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        t->position->setCoords((bands[i].lower + bands[i].upper) / 2, 0.0);
        t->setPositionAlignment(Qt::AlignTop | Qt::AlignHCenter);
        t->setPadding(QMargins(2, 3, 2, 1));
        t->setText(bands[i].label);
        t->setProperty(kBand, i);
        if (i > 0) {
            auto* line = new QCPItemStraightLine(p);
            line->setClipAxisRect(rect_);
            line->point1->setAxes(x, y);
            line->point2->setAxes(x, y);
            line->point1->setCoords(bands[i].lower, 0);
            line->point2->setCoords(bands[i].lower, 1);
            line->setProperty(kBoundary, true);
        }
    }
}

void EntropySequencePlot::rebuild() {
    QCustomPlot* p = plot();
    p->clearGraphs();
    legend_->clearItems();
    current_ = full_ = smoothed_ = nullptr;
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    QCPAxis* y = rect_->axis(QCPAxis::atLeft);
    double hi = 0;
    auto addCurve = [&](const QVector<double>& values, const QString& name) {
        QCPGraph* g = p->addGraph(x, y);
        QVector<double> keys(values.size());
        for (int i = 0; i < values.size(); ++i) {
            keys[i] = i;
            if (std::isfinite(values[i])) hi = std::max(hi, values[i]);
        }
        g->setData(keys, values, true);
        g->setName(name);
        g->setAdaptiveSampling(true);
        return g;
    };
    if (!fullValues_.isEmpty()) full_ = addCurve(fullValues_, fullLabel_.isEmpty() ? fullMethod_ : fullLabel_);
    if (!currentValues_.isEmpty())
        current_ = addCurve(currentValues_, currentLabel_.isEmpty() ? currentMethod_ : currentLabel_);
    if (current_ && smoothing_ > 1) {
        // Centred moving average over finite values.
        QVector<double> smooth(currentValues_.size(), std::numeric_limits<double>::quiet_NaN());
        const int half = smoothing_ / 2;
        for (int i = 0; i < currentValues_.size(); ++i) {
            double sum = 0;
            int count = 0;
            for (int j = std::max(0, i - half); j <= std::min<int>(currentValues_.size() - 1, i + half); ++j)
                if (std::isfinite(currentValues_[j])) sum += currentValues_[j], ++count;
            if (count) smooth[i] = sum / count;
        }
        smoothed_ = addCurve(smooth, QStringLiteral("%1, moving average (%2 tokens)")
                                         .arg(currentLabel_.isEmpty() ? currentMethod_ : currentLabel_)
                                         .arg(smoothing_));
    }
    for (QCPGraph* g : {full_, current_, smoothed_})
        if (g) g->addToLegend(legend_);
    legend_->setVisible(legend_->itemCount() > 0);

    const int n =
        std::max({info_.tokenCount(), static_cast<int>(currentValues_.size()), static_cast<int>(fullValues_.size())});
    x->setRange(-0.5, std::max(n, 1) - 0.5);
    // Headroom at the top for the segment labels.
    y->setRange(0, hi > 0 ? hi * 1.18 : 1);
    applyStyle();
}

void EntropySequencePlot::updateTicks() {
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    const QFontMetricsF fm(tickFont());
    TokenAxisInfo info = info_;
    if (info.isEmpty()) {
        // No token info: numbers only.
        info.segments.resize(std::max(currentValues_.size(), fullValues_.size()));
    }
    const TokenTicks t =
        tokenTicks(info, x->range().lower, x->range().upper, std::max(rect_->width(), 50), fm.height() + 1, 70);
    if (auto ticker = x->ticker().dynamicCast<QCPAxisTickerText>()) ticker->setTicks(t.positions, t.labels);
    x->setTickLabelRotation(t.tokenLabels ? -90 : 0);
}

void EntropySequencePlot::fitBandLabels() {
    const QVector<AxisBand> bands = axisBands(info_, 0, info_.tokenCount());
    QCPAxis* x = rect_->axis(QCPAxis::atBottom);
    const double charPx = QFontMetricsF(smallFont()).averageCharWidth();
    for (QCPAbstractItem* item : rect_->items()) {
        auto* t = qobject_cast<QCPItemText*>(item);
        if (!t || !t->property(kBand).isValid()) continue;
        const int i = t->property(kBand).toInt();
        if (i < 0 || i >= bands.size()) continue;
        const double lower = std::max(bands[i].lower, x->range().lower);
        const double upper = std::min(bands[i].upper, x->range().upper);
        const double px = upper > lower ? std::abs(x->coordToPixel(upper) - x->coordToPixel(lower)) : 0;
        const QString label = bandLabelFor(bands[i], px, charPx);
        t->setText(label);
        t->setVisible(!label.isEmpty());
        t->position->setCoords((lower + upper) / 2, 0.0);
    }
}

void EntropySequencePlot::applyStyle() {
    PlotView::applyStyle();
    styleLinePlot({rect_}, legend_);
    const double w = lineWidth();
    if (full_) {
        QColor c = methodColor(fullMethod_);
        full_->setPen(QPen(withAlpha(c, 200), w * 0.8));
    }
    if (current_) {
        const QColor c = methodColor(currentMethod_);
        current_->setPen(QPen(smoothed_ ? withAlpha(c, 90) : c, smoothed_ ? w * 0.6 : w));
    }
    if (smoothed_) smoothed_->setPen(QPen(methodColor(currentMethod_), w * 1.4));
    const QVector<AxisBand> bands = axisBands(info_, 0, info_.tokenCount());
    const int alpha = darkPalette() ? 60 : 48;
    for (QCPAbstractItem* item : rect_->items()) {
        if (item->property(kBoundary).isValid()) {
            if (auto* line = qobject_cast<QCPItemStraightLine*>(item))
                line->setPen(QPen(withAlpha(foreground(), 110), 1, Qt::DashLine));
            continue;
        }
        if (!item->property(kBand).isValid()) continue;
        const int i = item->property(kBand).toInt();
        if (i < 0 || i >= bands.size()) continue;
        const QColor c = bands[i].kind == SegmentKind::Prefix  ? prefixColor()
                         : bands[i].kind == SegmentKind::Query ? queryColor()
                                                               : chunkColor(bands[i].chunk);
        if (auto* r = qobject_cast<QCPItemRect*>(item)) {
            r->setPen(Qt::NoPen);
            r->setBrush(QBrush(withAlpha(c, alpha)));
        } else if (auto* t = qobject_cast<QCPItemText*>(item)) {
            QFont f = smallFont();
            f.setBold(true);
            t->setFont(f);
            t->setColor(foreground());
        }
    }
    replot();
}

QString EntropySequencePlot::dataCsv() const {
    QString out = QStringLiteral("token,text,segment,%1,%2\n")
                      .arg(csvField(currentLabel_.isEmpty() ? currentMethod_ : currentLabel_),
                           csvField(fullLabel_.isEmpty() ? fullMethod_ : fullLabel_));
    const int n =
        std::max({info_.tokenCount(), static_cast<int>(currentValues_.size()), static_cast<int>(fullValues_.size())});
    for (int i = 0; i < n; ++i) {
        out += QStringLiteral("%1,%2,%3,%4,%5\n")
                   .arg(i)
                   .arg(csvField(info_.tokenText(i)), info_.segmentLabel(i),
                        i < currentValues_.size() ? csvNumber(currentValues_[i]) : QString(),
                        i < fullValues_.size() ? csvNumber(fullValues_[i]) : QString());
    }
    return out;
}

QJsonObject EntropySequencePlot::dataJson() const {
    auto arr = [](const QVector<double>& v) {
        QJsonArray a;
        for (double d : v) a.append(std::isnan(d) ? QJsonValue() : QJsonValue(d));
        return a;
    };
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("entropy_sequence");
    o[QStringLiteral("title")] = title();
    o[QStringLiteral("unit")] = QStringLiteral("nats");
    o[QStringLiteral("current")] = QJsonObject{{QStringLiteral("label"), currentLabel_},
                                               {QStringLiteral("method"), currentMethod_},
                                               {QStringLiteral("values"), arr(currentValues_)}};
    if (!fullValues_.isEmpty())
        o[QStringLiteral("full")] = QJsonObject{{QStringLiteral("label"), fullLabel_},
                                                {QStringLiteral("method"), fullMethod_},
                                                {QStringLiteral("values"), arr(fullValues_)}};
    QJsonArray tokens, segments;
    for (int i = 0; i < info_.tokenCount(); ++i) {
        tokens.append(info_.tokenText(i));
        segments.append(info_.segmentLabel(i));
    }
    o[QStringLiteral("tokens")] = tokens;
    o[QStringLiteral("segments")] = segments;
    return o;
}

}  // namespace attnscope::widgets
