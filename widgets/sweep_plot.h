#pragma once
// SweepPlot: the P sweep. Two panels — mean query attention entropy (nats) vs P and query
// perplexity vs P — one line per method, x on a log2 axis with ticks at the P values.
#include <map>
#include <set>
#include <vector>

#include <QString>

#include "plot_view.h"
#include "session/sweep.h"

class QCPGraph;

namespace attnscope::widgets {

class SweepPlot : public PlotView {
    Q_OBJECT
public:
    explicit SweepPlot(QWidget* parent = nullptr);
    ~SweepPlot() override;

    void setRows(const std::vector<attnscope::SweepRow>& rows);
    const std::vector<attnscope::SweepRow>& rows() const { return rows_; }
    // Qt::Horizontal: side by side (default); Qt::Vertical: stacked.
    void setOrientation(Qt::Orientation orientation);
    Qt::Orientation orientation() const { return orientation_; }
    // Log scale for the perplexity axis (default off).
    void setLogPerplexity(bool on);

    QCPAxisRect* entropyRect() const { return entropyRect_; }
    QCPAxisRect* perplexityRect() const { return perplexityRect_; }
    // Graphs for `method` ("full", …) in each panel, or null.
    QCPGraph* entropyGraph(const QString& method) const;
    QCPGraph* perplexityGraph(const QString& method) const;

    QString dataCsv() const override;  // method, P, contextTokens, chunkTokens, entropy, perplexity
    QJsonObject dataJson() const override;

protected:
    void applyStyle() override;

private:
    void rebuildLayout();
    void rebuild();
    void addMethodGraphs(const QString& method, const std::map<int, attnscope::SweepRow>& byP);
    void fitAxes(const std::set<int>& parts, const ValueSpan& entropy, const ValueSpan& perplexity);

    std::vector<attnscope::SweepRow> rows_;
    Qt::Orientation orientation_ = Qt::Horizontal;
    bool logPpl_ = false;
    QCPAxisRect* entropyRect_ = nullptr;
    QCPAxisRect* perplexityRect_ = nullptr;
    QCPLegend* legend_ = nullptr;
};

}  // namespace attnscope::widgets
