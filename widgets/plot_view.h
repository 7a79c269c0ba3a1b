#pragma once
// PlotView: the base of every QCustomPlot view. Owns the plot, a title row, palette-driven
// styling (light/dark), presentation mode and figure export (PNG/SVG/PDF; SVG and PDF are vector).
#include <QJsonObject>
#include <QList>
#include <QRect>
#include <QString>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "figure_view.h"
#include "text_layout.h"

class QCustomPlot;
class QCPAbstractPlottable;
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

    QSize minimumSizeHint() const override;
    // Sparklines: every graph of every axis rect, and colour maps as small images.
    void paintCompact(QPainter& painter, const QRectF& area) override;
    // Readable when every data area is at least 3.5 tick labels high and 10 characters wide.
    QSize readableSize() const override;

    // The text the plot draws as laid out now (title, tick labels, axis titles, colour-bar
    // labels, legend entries), in the plot's coordinates, from QCustomPlot's layout rectangles
    // and each label's font metrics. The layout tests check it with textLayoutProblems().
    QList<TextBox> textBoxes() const;

protected:
    // Subclasses put their axis rects, colour scales and legends here (the title sits above it).
    QCPLayoutGrid* contentLayout() const { return content_; }
    // Styles an axis (fonts, pens, label/tick colours) from palette() and presentation mode.
    void styleAxis(QCPAxis* axis) const;
    void styleAxisRect(QCPAxisRect* rect) const;  // all four axes + background
    void styleColorScale(QCPColorScale* scale) const;
    void styleLegend(QCPLegend* legend) const;
    // Line plots: axis rects without vertical grid lines, the legend below them without a frame.
    void styleLinePlot(std::initializer_list<QCPAxisRect*> rects, QCPLegend* legend) const;
    // A legend in the bottom row of contentLayout(), below the axes (never over the data), filled
    // column by column, at most `columns` wide.
    QCPLegend* addLegendBelow(int columns);
    // Integer ticks at a step of 1 (layers, heads), no sub-ticks, no grid lines.
    static void setIntegerTicks(QCPAxis* axis);
    // Fits `axis` to the finite values seen, with `padding` × their span (at least 0.05) on both
    // sides and never below zero (entropy, perplexity); [fallbackLo, fallbackHi] when none is finite.
    struct ValueSpan {
        double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
        void add(double v) {
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        }
        bool empty() const { return !(lo <= hi); }
    };
    static void fitValueAxis(QCPAxis* axis, const ValueSpan& span, double padding, double fallbackLo,
                             double fallbackHi);
    QFont labelFont() const;    // axis labels
    QFont tickFont() const;     // tick labels
    QFont smallFont() const;    // annotations (chunk labels)
    QColor foreground() const;  // text/axis colour from palette()
    QColor background() const;  // plot background from palette()
    QColor gridColor() const;
    void applyStyle() override;  // styles the title and the plot background; subclasses extend
    // Replots (queued) after data or style changes.
    void replot();

private:
    // After each layout of the plot: ticks as dense as the axes allow, axis titles shortened to
    // fit, the title elided, legends in columns or beside the plot; lays out again if needed.
    void adaptLayout();
    bool fitAxis(QCPAxis* axis);
    bool fitLegend(QCPLegend* legend);
    bool fitOverhang(QCPAxis* axis);
    bool fitCorner(QCPAxis* bottom);
    bool fitTitle();
    QList<QCPAxis*> allAxes() const;
    static void paintSparkline(QPainter& painter, QCPAbstractPlottable* plottable, const QRectF& cell);

    QCustomPlot* plot_ = nullptr;
    bool adapting_ = false;
    struct ShownLayout {
        QSize size;              // of the plot, at its last layout on screen
        QList<QRect> dataRects;  // the axis rects holding data, then
    } shownLayout_;
    QCPLayoutGrid* content_ = nullptr;
    QCPTextElement* titleElement_ = nullptr;
};

}  // namespace attnscope::widgets
