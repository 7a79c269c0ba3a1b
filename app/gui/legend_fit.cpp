#include "legend_fit.h"

#include <QEvent>

#include <qcustomplot.h>

namespace attnscope::gui {

LegendFitter* LegendFitter::install(QCustomPlot* plot, int maxColumns) {
    auto* f = new LegendFitter(plot, maxColumns);
    plot->installEventFilter(f);
    connect(plot, &QCustomPlot::beforeReplot, f, &LegendFitter::fit);
    return f;
}

LegendFitter::LegendFitter(QCustomPlot* plot, int maxColumns) : QObject(plot), plot_(plot), maxColumns_(maxColumns) {}

bool LegendFitter::eventFilter(QObject* watched, QEvent* event) {
    if (watched == plot_ && event->type() == QEvent::Resize) fit();
    return QObject::eventFilter(watched, event);
}

void LegendFitter::fit() {
    if (fitting_ || !plot_->plotLayout()) return;
    fitting_ = true;
    const int available = plot_->width() - 16;
    for (QCPLayoutElement* e : plot_->plotLayout()->elements(true)) {
        auto* legend = qobject_cast<QCPLegend*>(e);
        if (!legend || legend->itemCount() == 0) continue;
        int widest = 1;
        for (int i = 0; i < legend->itemCount(); ++i)
            if (QCPAbstractLegendItem* item = legend->item(i))
                widest = std::max(widest, item->minimumOuterSizeHint().width() + legend->columnSpacing());
        const int columns = std::clamp(available / widest, 1, maxColumns_);
        if (legend->wrap() != columns) {
            // Re-flow the entries (QCPLegend keeps its grid until the fill order is applied again).
            legend->setWrap(columns);
            legend->setFillOrder(legend->fillOrder(), true);
        }
    }
    fitting_ = false;
}

}  // namespace attnscope::gui
