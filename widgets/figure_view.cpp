#include "figure_view.h"

#include <QEvent>
#include <QFontMetrics>
#include <QJsonDocument>
#include <QPainter>

#include <algorithm>

#include "color_maps.h"

namespace attnscope::widgets {

FigureView::FigureView(QWidget* parent) : QWidget(parent) {}

FigureView::~FigureView() = default;

bool FigureView::exportFigure(const QString& path, double scale, QString* error) {
    FigureInfo info;
    info.title = title_;
    info.description = QStringLiteral("attnscope figure");
    return saveFigureWithMethodLine(path, figureSize(), scale, info, error);
}

bool FigureView::saveFigureWithMethodLine(const QString& path, QSize size, double scale, FigureInfo info,
                                          QString* error) {
    if (methodLine_.isEmpty())
        return saveFigure([this](QPainter& p, const QSize& s) { renderFigure(p, s); }, path, size, scale, info, error);
    info.description += QStringLiteral(": ") + methodLine_;
    const QFont font = scaledFont(0.85);
    const int strip = QFontMetrics(font).height() + 8;
    const auto paint = [&](QPainter& p, const QSize& s) {
        renderFigure(p, QSize(s.width(), s.height() - strip));
        const QRect line(0, s.height() - strip, s.width(), strip);
        p.save();
        p.fillRect(line, palette().color(QPalette::Base));
        p.setFont(font);
        p.setPen(palette().color(QPalette::Text));
        p.drawText(line.adjusted(8, 0, -8, 0), Qt::AlignVCenter | Qt::AlignLeft, methodLine_);
        p.restore();
    };
    return saveFigure(paint, path, size + QSize(0, strip), scale, info, error);
}

bool FigureView::exportCsv(const QString& path, QString* error) const {
    return writeTextFileAtomic(path, dataCsv(), error);
}

bool FigureView::exportJson(const QString& path, QString* error) const {
    return writeTextFileAtomic(path, QJsonDocument(dataJson()).toJson(QJsonDocument::Indented), error);
}

void FigureView::setPresentationMode(bool on) {
    if (presentation_ == on) return;
    presentation_ = on;
    applyStyle();
}

void FigureView::setTitle(const QString& title) { title_ = title; }

QSize FigureView::figureSize() const {
    if (testAttribute(Qt::WA_WState_Created) && isVisible() && width() > 50 && height() > 50) return size();
    if (exportSize_.isValid() && !exportSize_.isEmpty()) return exportSize_;
    return sizeHint();
}

double FigureView::baseFontPointSize() const {
    const double base = font().pointSizeF() > 0 ? font().pointSizeF() : 10.0;
    return presentation_ ? base * 1.5 : base;
}

QFont FigureView::scaledFont(double factor) const {
    QFont f = font();
    f.setPointSizeF(baseFontPointSize() * factor);
    return f;
}

QSize FigureView::sizeHint() const { return {640, 420}; }

QSize FigureView::readableSize() const {
    const QFontMetrics fm(scaledFont(1.0));
    return {fm.averageCharWidth() * 24, fm.height() * 9};
}

void FigureView::paintCompact(QPainter& painter, const QRectF& area) {
    // A thumbnail of the figure at its export size.
    const QSize size = exportSize_.isValid() && !exportSize_.isEmpty() ? exportSize_ : sizeHint();
    const double scale = std::min(area.width() / size.width(), area.height() / size.height());
    painter.save();
    painter.translate(area.center() - QPointF(size.width(), size.height()) * scale / 2);
    painter.scale(scale, scale);
    renderFigure(painter, size);
    painter.restore();
}

double FigureView::lineWidth() const { return presentation_ ? 3.0 : 1.6; }

bool FigureView::darkPalette() const { return luminance(palette().color(QPalette::Window)) < 0.25; }

void FigureView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange ||
        event->type() == QEvent::StyleChange)
        applyStyle();
}

}  // namespace attnscope::widgets
