#include "compact_figure.h"

#include <QMouseEvent>
#include <QPainter>

#include "figure_view.h"

namespace attnscope::widgets {

CompactFigure::CompactFigure(FigureView* view, QWidget* parent) : QWidget(parent), view_(view) {
    setCursor(Qt::PointingHandCursor);
    setToolTip(tr("Too small to read: click to show this view enlarged"));
}

void CompactFigure::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base));
    const QFontMetrics fm(font());
    const int line = fm.height();
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(palette().color(QPalette::Text));
    const QRect titleRect(4, 2, width() - 8, line);
    p.drawText(titleRect, Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(bold).elidedText(view_->title(), Qt::ElideRight, titleRect.width()));
    p.setFont(font());
    p.setPen(palette().color(QPalette::PlaceholderText));
    const QRect hintRect(4, height() - line - 2, width() - 8, line);
    if (height() >= 3 * line)
        p.drawText(hintRect, Qt::AlignRight | Qt::AlignVCenter,
                   fm.elidedText(hint(), Qt::ElideRight, hintRect.width()));
    const QRectF data(4, titleRect.bottom() + 4, width() - 8, hintRect.top() - titleRect.bottom() - 8);
    if (data.height() > 6 && data.width() > 12) view_->paintCompact(p, data);
}

void CompactFigure::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && rect().contains(event->position().toPoint())) emit clicked();
    QWidget::mouseReleaseEvent(event);
}

}  // namespace attnscope::widgets
