#include "text_layout.h"

#include <algorithm>
#include <cmath>

namespace attnscope::widgets {

namespace {

QString describe(const TextBox& b) {
    return QStringLiteral("%1 “%2” (%3, %4, %5×%6)")
        .arg(b.what, b.text)
        .arg(b.rect.x(), 0, 'f', 0)
        .arg(b.rect.y(), 0, 'f', 0)
        .arg(b.rect.width(), 0, 'f', 0)
        .arg(b.rect.height(), 0, 'f', 0);
}

bool overlap(const QRectF& a, const QRectF& b, double tolerance) {
    const QRectF i = a.intersected(b);
    return i.width() > tolerance && i.height() > tolerance;
}

}  // namespace

QStringList textLayoutProblems(const QList<TextBox>& boxes, const QRectF& bounds, double tolerance) {
    QStringList problems;
    const QRectF inside = bounds.adjusted(-tolerance, -tolerance, tolerance, tolerance);
    for (const TextBox& b : boxes)
        if (!inside.contains(b.rect))
            problems << QStringLiteral("%1 is outside the view (%2×%3)")
                            .arg(describe(b))
                            .arg(bounds.width(), 0, 'f', 0)
                            .arg(bounds.height(), 0, 'f', 0);
    for (qsizetype i = 0; i < boxes.size(); ++i)
        for (qsizetype j = i + 1; j < boxes.size(); ++j)
            if (overlap(boxes[i].rect, boxes[j].rect, tolerance))
                problems << QStringLiteral("%1 overlaps %2").arg(describe(boxes[i]), describe(boxes[j]));
    return problems;
}

int ticksThatFit(double axisPixels, double labelExtent, double gap, int maxTicks) {
    const double step = std::max(1.0, labelExtent + gap);
    const int fit = static_cast<int>(std::floor(std::max(0.0, axisPixels) / step));
    return std::clamp(fit, 2, std::max(2, maxTicks));
}

QStringList labelVariants(const QString& label) {
    const QString text = label.simplified();
    const qsizetype open = text.indexOf(QLatin1Char('('));
    const QString unit = open >= 0 ? text.mid(open).trimmed() : QString();
    const QStringList words = (open >= 0 ? text.left(open) : text).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    QStringList out;
    auto add = [&out](const QString& v) {
        if (!v.isEmpty() && !out.contains(v)) out << v;
    };
    for (qsizetype i = 0; i < words.size(); ++i) add((words.mid(i).join(QLatin1Char(' ')) + ' ' + unit).trimmed());
    for (qsizetype i = 0; i < words.size(); ++i) add(words.mid(i).join(QLatin1Char(' ')));
    if (!unit.isEmpty()) add(unit.mid(1, unit.size() - 2).trimmed());
    if (out.isEmpty()) add(text);
    return out;
}

QString firstThatFits(const QStringList& variants, const std::function<double(const QString&)>& width,
                      double available) {
    for (const QString& v : variants)
        if (width(v) <= available) return v;
    return {};
}

LegendFit fitLegend(const QList<double>& itemWidths, double itemHeight, QSizeF area, int maxColumns, double maxShare) {
    LegendFit fit;
    if (itemWidths.isEmpty()) return fit;
    const double widest = std::max(1.0, *std::max_element(itemWidths.begin(), itemWidths.end()));
    const int n = static_cast<int>(itemWidths.size());
    fit.columns = std::clamp(static_cast<int>((area.width() - 16) / widest), 1, std::max(1, std::min(maxColumns, n)));
    const int rows = (n + fit.columns - 1) / fit.columns;
    const bool tallBelow = rows * itemHeight > maxShare * area.height();
    const bool fitsRight = widest <= 0.5 * area.width() && n * itemHeight <= area.height() * 0.9;
    if (tallBelow && fitsRight) fit = {LegendPlace::Right, 1};
    return fit;
}

bool needsCompactForm(QSize available, QSize readable) {
    return available.width() < readable.width() || available.height() < readable.height();
}

}  // namespace attnscope::widgets
