#pragma once
// Pure geometry of a view's text (no widgets): the rectangles a view draws text in must stay
// inside the view and must not overlap one another; how many ticks fit an axis; which shorter
// form of an axis title fits; when a view is too small to be readable at all. The plot views
// (plot_view.h) adapt their layout with these rules, and the layout tests check them.
#include <QList>
#include <QRectF>
#include <QSize>
#include <QString>
#include <QStringList>

#include <functional>

namespace attnscope::widgets {

// One piece of text as drawn: what it is ("left axis tick 2.5"), the text, and its rectangle.
struct TextBox {
    QString what;
    QString text;
    QRectF rect;
};

// Problems with `boxes` drawn inside `bounds`: a box outside the bounds, or two boxes that
// overlap by more than `tolerance` pixels in both directions. Empty when the text is readable.
QStringList textLayoutProblems(const QList<TextBox>& boxes, const QRectF& bounds, double tolerance = 1.0);

// How many ticks an axis of `axisPixels` can carry when each tick label needs `labelExtent`
// pixels along the axis plus `gap` between labels (at least 2, at most `maxTicks`: QCustomPlot's
// own default, so a roomy plot looks as it always did).
int ticksThatFit(double axisPixels, double labelExtent, double gap, int maxTicks = 5);

// Shorter forms of an axis title, longest first: leading words dropped while the unit in
// parentheses stays ("mean query attention entropy (nats)" → … → "entropy (nats)"), then the
// words without the unit, then the unit alone ("nats").
QStringList labelVariants(const QString& label);
// The first of `variants` whose width (by `width`) is at most `available`; empty when none fits.
QString firstThatFits(const QStringList& variants, const std::function<double(const QString&)>& width,
                      double available);

// Legend placement: below the plot (columns as the width allows) unless that takes more than
// `maxShare` of the height and the legend fits beside the plot in one column, leaving the plot
// at least half the width.
enum class LegendPlace { Below, Right };
struct LegendFit {
    LegendPlace place = LegendPlace::Below;
    int columns = 1;
};
// `itemWidths`/`itemHeight`: the legend entries' sizes; `area`: the whole plot widget.
LegendFit fitLegend(const QList<double>& itemWidths, double itemHeight, QSizeF area, int maxColumns,
                    double maxShare = 0.3);

// A view smaller than `readable` in either direction is shown in its compact form instead.
bool needsCompactForm(QSize available, QSize readable);

}  // namespace attnscope::widgets
