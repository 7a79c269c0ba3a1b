#pragma once
// EntropyByLayerPlot: mean query attention entropy per layer (nats), one line per method; the
// active method is drawn thicker and on top. Layers with local (sliding-window) attention can be
// shaded.
#include <QList>
#include <QString>
#include <QVector>

#include "plot_view.h"

class QCPGraph;

namespace attnscope::widgets {

struct MethodSeries {
    QString method;            // "full", "parallel", "sink", "selective", "both" (colour key)
    QString label;             // legend text; empty: method
    QVector<double> perLayer;  // [layer] mean query attention entropy, nats
    double mean = 0;           // over layers, nats (shown in the legend)
    bool active = false;       // the method the app currently shows elsewhere
};

class EntropyByLayerPlot : public PlotView {
    Q_OBJECT
public:
    explicit EntropyByLayerPlot(QWidget* parent = nullptr);
    ~EntropyByLayerPlot() override;

    void setSeries(const QList<MethodSeries>& series);
    const QList<MethodSeries>& series() const { return series_; }
    // [layer] true for local (sliding-window) layers; shaded and noted in the legend, and the
    // view's tooltip explains the two window rules (plan/encoding_options.h).
    void setLocalLayers(const QVector<bool>& local);
    void setActiveMethod(const QString& method);
    // The graph drawing `method`, or null.
    QCPGraph* graphFor(const QString& method) const;
    // "parallel (mean 2.52 nats)"
    static QString legendText(const MethodSeries& s);

    QString dataCsv() const override;  // layer, one column per method
    QJsonObject dataJson() const override;

protected:
    void applyStyle() override;

private:
    void rebuild();
    ValueSpan addSeriesGraphs();
    void addLocalLayerBands();

    QList<MethodSeries> series_;
    QVector<bool> local_;
    QCPAxisRect* rect_ = nullptr;
    QCPLegend* legend_ = nullptr;
};

}  // namespace attnscope::widgets
