#pragma once
// Keeps the legends of a QCustomPlot readable at any width: the number of legend columns follows
// the plot's width (the widest entry decides), so a narrow dock gets two rows instead of clipped
// text. Installed on a plot by the app; the plot widgets themselves stay unchanged.
#include <QObject>

class QCustomPlot;

namespace attnscope::gui {

class LegendFitter : public QObject {
    Q_OBJECT
public:
    // Watches `plot` (and is owned by it). `maxColumns` is the most columns a legend may use.
    static LegendFitter* install(QCustomPlot* plot, int maxColumns);
    // Re-fits now (after the legend entries changed).
    void fit();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    LegendFitter(QCustomPlot* plot, int maxColumns);
    QCustomPlot* plot_;
    int maxColumns_;
    bool fitting_ = false;
};

}  // namespace attnscope::gui
