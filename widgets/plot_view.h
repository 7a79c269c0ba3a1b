#pragma once
// PlotView: the base of every QCustomPlot view. Owns the plot, a title row, palette-driven
// styling (light/dark), presentation mode and figure export (PNG/SVG/PDF; SVG and PDF are vector).
#include <QJsonObject>
#include <QString>

#include "figure_view.h"

class QCustomPlot;
class QCPAxis;
class QCPAxisRect;
class QCPColorScale;
class QCPLayoutGrid;
class QCPLegend;
class QCPTextElement;

namespace attnscope::widgets {

class PlotView : public FigureView {
    Q_OBJECT
public:
    explicit PlotView(QWidget* parent = nullptr);
    ~PlotView() override;

    QCustomPlot* plot() const { return plot_; }

    bool exportFigure(const QString& path, double scale = 2.0, QString* error = nullptr) override;
    void setTitle(const QString& title) override;
    void renderFigure(QPainter& painter, const QSize& size) override;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    // Subclasses put their axis rects, colour scales and legends here (the title sits above it).
    QCPLayoutGrid* contentLayout() const { return content_; }
    // Styles an axis (fonts, pens, label/tick colours) from palette() and presentation mode.
    void styleAxis(QCPAxis* axis) const;
    void styleAxisRect(QCPAxisRect* rect) const;   // all four axes + background
    void styleColorScale(QCPColorScale* scale) const;
    void styleLegend(QCPLegend* legend) const;
    QFont labelFont() const;      // axis labels
    QFont tickFont() const;       // tick labels
    QFont smallFont() const;      // annotations (chunk labels)
    QColor foreground() const;    // text/axis colour from palette()
    QColor background() const;    // plot background from palette()
    QColor gridColor() const;
    void applyStyle() override;   // styles the title and the plot background; subclasses extend
    // Replots (queued) after data or style changes.
    void replot();

private:
    QCustomPlot* plot_ = nullptr;
    QCPLayoutGrid* content_ = nullptr;
    QCPTextElement* titleElement_ = nullptr;
};

}  // namespace attnscope::widgets
