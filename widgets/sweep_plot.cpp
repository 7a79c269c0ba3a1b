#include "sweep_plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <QJsonArray>

#include <qcustomplot.h>

#include "color_maps.h"
#include "core/enum_names.h"

namespace attnscope::widgets {

namespace {

// The row's window rule as the engine spells it ("physical" | "position").
QString windowRuleName(const SweepRow& r) { return QString::fromLatin1(enumName(r.windowRule, kWindowRuleNames)); }

}  // namespace

SweepPlot::SweepPlot(QWidget* parent) : PlotView(parent) {
    QCustomPlot* p = plot();
    entropyRect_ = new QCPAxisRect(p, true);
    perplexityRect_ = new QCPAxisRect(p, true);
    legend_ = addLegendBelow(5);  // rebuildLayout puts the panels above it
    for (QCPAxisRect* r : {entropyRect_, perplexityRect_}) {
        QCPAxis* x = r->axis(QCPAxis::atBottom);
        x->setScaleType(QCPAxis::stLogarithmic);
        x->setTicker(QSharedPointer<QCPAxisTickerText>::create());
        x->setSubTicks(false);
        x->setLabel(QStringLiteral("number of chunks P"));
    }
    entropyRect_->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("mean query attention entropy (nats)"));
    perplexityRect_->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("query perplexity"));
    rebuildLayout();
    applyStyle();
}

SweepPlot::~SweepPlot() = default;

void SweepPlot::setOrientation(Qt::Orientation orientation) {
    if (orientation_ == orientation) return;
    orientation_ = orientation;
    rebuildLayout();
    applyStyle();
}

void SweepPlot::setLogPerplexity(bool on) {
    logPpl_ = on;
    rebuild();
}

void SweepPlot::rebuildLayout() {
    QCPLayoutGrid* c = contentLayout();
    // Take everything out, then place it again.
    for (QCPLayoutElement* e :
         {static_cast<QCPLayoutElement*>(entropyRect_), static_cast<QCPLayoutElement*>(perplexityRect_),
          static_cast<QCPLayoutElement*>(legend_)})
        if (e->layout()) e->layout()->take(e);
    // What is left is the old (now empty) panel grid.
    for (int i = c->elementCount() - 1; i >= 0; --i)
        if (c->elementAt(i))
            if (QCPLayoutElement* e = c->takeAt(i)) delete e;
    c->simplify();
    auto* panels = new QCPLayoutGrid;
    c->addElement(0, 0, panels);
    c->addElement(1, 0, legend_);
    c->setRowStretchFactors({1.0, 0.001});
    if (orientation_ == Qt::Horizontal) {
        panels->addElement(0, 0, entropyRect_);
        panels->addElement(0, 1, perplexityRect_);
        panels->setColumnSpacing(16);
    } else {
        panels->addElement(0, 0, entropyRect_);
        panels->addElement(1, 0, perplexityRect_);
        panels->setRowSpacing(10);
        auto* group = new QCPMarginGroup(plot());
        entropyRect_->setMarginGroup(QCP::msLeft | QCP::msRight, group);
        perplexityRect_->setMarginGroup(QCP::msLeft | QCP::msRight, group);
    }
    if (orientation_ == Qt::Horizontal) {
        entropyRect_->setMarginGroup(QCP::msLeft | QCP::msRight, nullptr);
        perplexityRect_->setMarginGroup(QCP::msLeft | QCP::msRight, nullptr);
        auto* group = new QCPMarginGroup(plot());
        entropyRect_->setMarginGroup(QCP::msTop | QCP::msBottom, group);
        perplexityRect_->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    } else {
        entropyRect_->setMarginGroup(QCP::msTop | QCP::msBottom, nullptr);
        perplexityRect_->setMarginGroup(QCP::msTop | QCP::msBottom, nullptr);
    }
    replot();
}

void SweepPlot::setRows(const std::vector<SweepRow>& rows) {
    rows_ = rows;
    rebuild();
    Q_EMIT dataChanged();
}

QCPGraph* SweepPlot::entropyGraph(const QString& method) const {
    for (QCPGraph* g : entropyRect_->graphs())
        if (g->property("method").toString() == method) return g;
    return nullptr;
}

QCPGraph* SweepPlot::perplexityGraph(const QString& method) const {
    for (QCPGraph* g : perplexityRect_->graphs())
        if (g->property("method").toString() == method) return g;
    return nullptr;
}

void SweepPlot::rebuild() {
    plot()->clearGraphs();
    legend_->clearItems();
    // method → P → row (the last row wins for duplicates).
    std::map<int, std::pair<QString, std::map<int, SweepRow>>> byMethod;
    std::set<int> parts;
    for (const SweepRow& r : rows_) {
        if (r.parts <= 0) continue;
        const QString m = methodName(r.method);
        auto& entry = byMethod[methodOrder(m) * 16 + static_cast<int>(r.method)];
        entry.first = m;
        entry.second[r.parts] = r;
        parts.insert(r.parts);
    }
    ValueSpan entropy, perplexity;
    for (const auto& [key, entry] : byMethod) {
        const auto& [method, byP] = entry;
        for (const auto& [P, row] : byP) {
            entropy.add(row.meanEntropy);
            if (row.perplexity > 0) perplexity.add(row.perplexity);
        }
        addMethodGraphs(method, byP);
    }
    legend_->setVisible(legend_->itemCount() > 0);
    fitAxes(parts, entropy, perplexity);
    applyStyle();
}

// One line per method in each panel: entropy and perplexity against P.
void SweepPlot::addMethodGraphs(const QString& method, const std::map<int, SweepRow>& byP) {
    QVector<double> ps, es, ppl;
    for (const auto& [P, row] : byP) {
        ps.push_back(P);
        es.push_back(row.meanEntropy);
        ppl.push_back(row.perplexity);
    }
    QCPGraph* ge = plot()->addGraph(entropyRect_->axis(QCPAxis::atBottom), entropyRect_->axis(QCPAxis::atLeft));
    QCPGraph* gp = plot()->addGraph(perplexityRect_->axis(QCPAxis::atBottom), perplexityRect_->axis(QCPAxis::atLeft));
    ge->setData(ps, es, true);
    gp->setData(ps, ppl, true);
    for (QCPGraph* g : {ge, gp}) {
        g->setProperty("method", method);
        g->setName(method);
    }
    ge->addToLegend(legend_);
}

// P axes: a tick at every P swept (log scale); value axes fitted to the rows.
void SweepPlot::fitAxes(const std::set<int>& parts, const ValueSpan& entropy, const ValueSpan& perplexity) {
    QVector<double> ticks;
    QVector<QString> labels;
    for (int P : parts) {
        ticks.push_back(P);
        labels.push_back(QString::number(P));
    }
    for (QCPAxisRect* r : {entropyRect_, perplexityRect_}) {
        QCPAxis* x = r->axis(QCPAxis::atBottom);
        if (auto t = x->ticker().dynamicCast<QCPAxisTickerText>()) t->setTicks(ticks, labels);
        if (!parts.empty()) x->setRange(*parts.begin() / 1.35, *parts.rbegin() * 1.35);
        else x->setRange(0.75, 20);
    }
    fitValueAxis(entropyRect_->axis(QCPAxis::atLeft), entropy, 0.1, 0, 1);
    QCPAxis* py = perplexityRect_->axis(QCPAxis::atLeft);
    py->setScaleType(logPpl_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logPpl_) py->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else py->setTicker(QSharedPointer<QCPAxisTicker>::create());
    if (logPpl_ && !perplexity.empty()) py->setRange(perplexity.lo / 1.15, perplexity.hi * 1.15);
    else fitValueAxis(py, perplexity, 0.1, 1, 10);
}

void SweepPlot::applyStyle() {
    PlotView::applyStyle();
    styleLinePlot({entropyRect_, perplexityRect_}, legend_);
    const double w = lineWidth();
    for (int i = 0; i < plot()->graphCount(); ++i) {
        QCPGraph* g = plot()->graph(i);
        const QString m = g->property("method").toString();
        QPen pen(methodColor(m), w, methodPenStyle(m));
        pen.setJoinStyle(Qt::RoundJoin);
        g->setPen(pen);
        QCPScatterStyle s(methodScatterShape(m), methodColor(m), methodColor(m), presentationMode() ? 10 : 7);
        s.setPen(QPen(methodColor(m), std::max(1.0, w * 0.8)));
        g->setScatterStyle(s);
    }
    replot();
}

QString SweepPlot::dataCsv() const {
    QString out = QStringLiteral("method,parts,context_tokens,chunk_tokens,mean_entropy_nats,perplexity,window_rule\n");
    for (const SweepRow& r : rows_)
        out += QStringLiteral("%1,%2,%3,%4,%5,%6,%7\n")
                   .arg(methodName(r.method))
                   .arg(r.parts)
                   .arg(r.contextTokens)
                   .arg(r.chunkTokens)
                   .arg(csvNumber(r.meanEntropy), csvNumber(r.perplexity), windowRuleName(r));
    return out;
}

QJsonObject SweepPlot::dataJson() const {
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("sweep");
    o[QStringLiteral("title")] = title();
    QJsonArray rows;
    for (const SweepRow& r : rows_)
        rows.append(QJsonObject{
            {QStringLiteral("method"), methodName(r.method)},
            {QStringLiteral("parts"), r.parts},
            {QStringLiteral("contextTokens"), r.contextTokens},
            {QStringLiteral("chunkTokens"), r.chunkTokens},
            {QStringLiteral("meanEntropy"), std::isnan(r.meanEntropy) ? QJsonValue() : QJsonValue(r.meanEntropy)},
            {QStringLiteral("perplexity"), std::isnan(r.perplexity) ? QJsonValue() : QJsonValue(r.perplexity)},
            {QStringLiteral("windowRule"), windowRuleName(r)}});
    o[QStringLiteral("rows")] = rows;
    return o;
}

}  // namespace attnscope::widgets
