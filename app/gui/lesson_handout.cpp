#include "lesson_handout.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QFontMetricsF>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>

#include <qcustomplot.h>

#include "analysis_controller.h"
#include "figure_export.h"
#include "figure_view.h"
#include "lesson_player.h"
#include "main_window.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

constexpr int kDpi = 96;  // page units are screen pixels: fonts as on screen

// One page: a header line, the figure scaled to fit above the caption, the caption, the method.
void paintPage(QCPPainter& painter, const QRectF& page, MainWindow& window, int step) {
    LessonPlayer* player = window.lessonPlayer();
    const LessonStep& s = player->lesson().steps[step];
    const QRectF area = page.adjusted(48, 40, -48, -40);
    QFont small;
    small.setPointSizeF(9);
    QFont caption = small;
    caption.setPointSizeF(15);
    painter.setPen(Qt::black);
    painter.setFont(small);
    const QString header = QObject::tr("%1 — step %2 of %3")
                               .arg(player->lesson().title.isEmpty() ? QObject::tr("Lesson") : player->lesson().title)
                               .arg(step + 1)
                               .arg(player->lesson().steps.size());
    painter.drawText(QRectF(area.left(), area.top(), area.width(), 20), Qt::AlignLeft | Qt::AlignVCenter, header);

    const QString text = player->caption();
    const QRectF captionBox =
        QFontMetricsF(caption).boundingRect(QRectF(0, 0, area.width(), 1e5), Qt::TextWordWrap, text);
    const double textHeight = captionBox.height() + 40;
    const QRectF figureArea(area.left(), area.top() + 28, area.width(), area.height() - 28 - textHeight - 12);
    widgets::FigureView* view = window.panel(s.view)->view();
    const QSize size = view->exportSize();
    const double scale = std::min(figureArea.width() / size.width(), figureArea.height() / size.height());
    painter.save();
    painter.translate(figureArea.center() - QPointF(size.width(), size.height()) * scale / 2);
    painter.scale(scale, scale);
    view->renderFigure(painter, size);
    painter.restore();

    const double top = figureArea.bottom() + 12;
    painter.setFont(caption);
    painter.setPen(Qt::black);
    painter.drawText(QRectF(area.left(), top, area.width(), captionBox.height()), Qt::TextWordWrap, text);
    painter.setFont(small);
    painter.setPen(QColor(90, 90, 90));
    painter.drawText(QRectF(area.left(), top + captionBox.height() + 8, area.width(), 20),
                     Qt::AlignLeft | Qt::AlignVCenter, methodLabel(window.method()));
}

}  // namespace

bool writeLessonHandout(MainWindow& window, const QString& path, int timeoutMs, QString* error) {
    LessonPlayer* player = window.lessonPlayer();
    auto fail = [&](const QString& reason) {
        if (error) *error = QStringLiteral("%1: %2").arg(path, reason);
        return false;
    };
    if (!player->active()) return fail(QStringLiteral("no lesson is open"));
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter writer(&buffer);
    writer.setResolution(kDpi);
    writer.setCreator(QStringLiteral("attnscope"));
    writer.setTitle(player->lesson().title);
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Landscape, QMarginsF(0, 0, 0, 0)));
    QCPPainter painter;
    if (!painter.begin(&writer)) return fail(QStringLiteral("cannot start the PDF painter"));
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    painter.setRenderHint(QPainter::Antialiasing);
    for (int i = 0; i < player->lesson().steps.size(); ++i) {
        player->go(i);
        if (!window.waitForSettled(timeoutMs, true)) {
            painter.end();
            const QString why = window.lastError();
            return fail(
                QStringLiteral("step %1: %2").arg(i + 1).arg(why.isEmpty() ? QStringLiteral("timed out") : why));
        }
        QCoreApplication::processEvents();  // queued replots
        if (i > 0) writer.newPage();
        paintPage(painter, QRectF(0, 0, writer.width(), writer.height()), window, i);
    }
    painter.end();
    return widgets::writeTextFileAtomic(path, bytes, error);
}

}  // namespace attnscope::gui
