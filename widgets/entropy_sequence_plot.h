#pragma once
// EntropySequencePlot (the paper's Figure 1): attention entropy (nats, mean over heads at one
// layer or over layers) of every token along the physical order, for the current method and
// optionally for full attention. Chunk regions are shaded and labelled; prefix and query marked.
#include <QString>
#include <QVector>

#include "heatmap_data.h"
#include "plot_view.h"

class QCPGraph;

namespace attnscope::widgets {

class EntropySequencePlot : public PlotView {
    Q_OBJECT
public:
    explicit EntropySequencePlot(QWidget* parent = nullptr);
    ~EntropySequencePlot() override;

    void setAxisInfo(const TokenAxisInfo& info);
    const TokenAxisInfo& axisInfo() const { return info_; }
    // [token] entropies in nats (size = token count; NaN gaps allowed). `full` may be empty.
    void setCurves(const QVector<double>& current, const QString& currentLabel, const QVector<double>& full = {},
                   const QString& fullLabel = QStringLiteral("full attention"));
    // Method keys for colours (default "parallel" and "full").
    void setCurveMethods(const QString& currentMethod, const QString& fullMethod = QStringLiteral("full"));
    // Moving-average window in tokens drawn over the raw curve (0/1: off).
    void setSmoothing(int window);

    QCPGraph* currentGraph() const { return current_; }
    QCPGraph* fullGraph() const { return full_; }
    QCPGraph* smoothedGraph() const { return smoothed_; }  // null unless smoothing is on

    QString dataCsv() const override;  // token, text, segment, current, full
    QJsonObject dataJson() const override;

protected:
    void applyStyle() override;

private:
    void rebuild();
    void rebuildBands();
    void updateTicks();

    TokenAxisInfo info_;
    QVector<double> currentValues_, fullValues_;
    QString currentLabel_, fullLabel_ = QStringLiteral("full attention");
    QString currentMethod_ = QStringLiteral("parallel"), fullMethod_ = QStringLiteral("full");
    int smoothing_ = 0;
    QCPAxisRect* rect_ = nullptr;
    QCPGraph* current_ = nullptr;
    QCPGraph* full_ = nullptr;
    QCPGraph* smoothed_ = nullptr;
    QCPLegend* legend_ = nullptr;

    void fitBandLabels();
};

}  // namespace attnscope::widgets
