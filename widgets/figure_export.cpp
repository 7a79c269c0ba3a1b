#include "figure_export.h"

#include <cmath>

#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <qcustomplot.h>

namespace attnscope::widgets {
namespace {

void setError(QString* error, const QString& message) {
    if (error) *error = message;
}

bool validSize(QSize size, QString* error) {
    if (size.width() <= 0 || size.height() <= 0 || size.width() > 20000 || size.height() > 20000) {
        setError(error, QStringLiteral("figure size %1×%2 is out of range").arg(size.width()).arg(size.height()));
        return false;
    }
    return true;
}

// Logical DPI used for fonts in vector output, so text has the same size relative to the
// figure as on screen (QSvgGenerator defaults to 72 dpi, QPdfWriter to 1200 dpi).
int screenDpi() {
    const QImage probe(1, 1, QImage::Format_ARGB32);
    const int dpi = probe.logicalDpiX();
    return dpi > 0 ? dpi : 96;
}

// An in-memory file the renderers write to.
struct MemoryFile {
    QByteArray bytes;
    QBuffer buffer{&bytes};
    MemoryFile() { buffer.open(QIODevice::WriteOnly); }
};

QString figureTitle(const FigureInfo& info) {
    return info.title.isEmpty() ? QStringLiteral("attnscope figure") : info.title;
}

// Paints onto a vector device (SVG generator, PDF writer): vectorised, uncached, antialiased.
// `draw` sets up what is particular to the device and paints. `name` labels the error.
bool paintVector(QPaintDevice* device, const char* name, QString* error, const std::function<void(QCPPainter&)>& draw) {
    QCPPainter painter;
    if (!painter.begin(device)) {
        setError(error, QStringLiteral("cannot start the %1 painter").arg(QLatin1String(name)));
        return false;
    }
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    painter.setRenderHint(QPainter::Antialiasing);
    draw(painter);
    painter.end();
    return true;
}

}  // namespace

FigureFormat figureFormatForPath(const QString& path) {
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("png")) return FigureFormat::Png;
    if (ext == QLatin1String("svg")) return FigureFormat::Svg;
    if (ext == QLatin1String("pdf")) return FigureFormat::Pdf;
    return FigureFormat::Unknown;
}

QByteArray renderPng(const PaintFunction& paint, QSize size, double scale, QString* error) {
    if (!validSize(size, error)) return {};
    if (!(scale > 0) || scale > 16) {
        setError(error, QStringLiteral("PNG scale %1 is out of range (0, 16]").arg(scale));
        return {};
    }
    const QSize pixels(static_cast<int>(std::lround(size.width() * scale)),
                       static_cast<int>(std::lround(size.height() * scale)));
    QImage image(pixels, QImage::Format_ARGB32_Premultiplied);
    if (image.isNull()) {
        setError(error, QStringLiteral("cannot allocate a %1×%2 image").arg(pixels.width()).arg(pixels.height()));
        return {};
    }
    image.fill(Qt::transparent);
    {
        QCPPainter painter(&image);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setRenderHint(QPainter::TextAntialiasing);
        painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
        painter.setMode(QCPPainter::pmNoCaching);
        painter.scale(scale, scale);
        paint(painter, size);
    }
    MemoryFile out;
    if (!image.save(&out.buffer, "PNG")) {
        setError(error, QStringLiteral("PNG encoding failed"));
        return {};
    }
    return out.bytes;
}

QByteArray renderSvg(const PaintFunction& paint, QSize size, const FigureInfo& info, QString* error) {
    if (!validSize(size, error)) return {};
    MemoryFile out;
    QSvgGenerator generator;
    generator.setOutputDevice(&out.buffer);
    generator.setSize(size);
    generator.setViewBox(QRect(QPoint(0, 0), size));
    generator.setResolution(screenDpi());
    generator.setTitle(figureTitle(info));
    generator.setDescription(info.description.isEmpty() ? QStringLiteral("Created by %1").arg(info.creator)
                                                        : info.description);
    if (!paintVector(&generator, "SVG", error, [&](QCPPainter& painter) { paint(painter, size); })) return {};
    if (out.bytes.isEmpty()) setError(error, QStringLiteral("SVG rendering produced no output"));
    return out.bytes;
}

QByteArray renderPdf(const PaintFunction& paint, QSize size, const FigureInfo& info, QString* error) {
    if (!validSize(size, error)) return {};
    MemoryFile out;
    {
        QPdfWriter writer(&out.buffer);
        const int dpi = screenDpi();
        writer.setResolution(dpi);
        writer.setCreator(info.creator);
        writer.setTitle(figureTitle(info));
        // Page = the figure, in points (1/72 inch) at the same DPI the painter uses.
        const QSizeF points(size.width() * 72.0 / dpi, size.height() * 72.0 / dpi);
        writer.setPageLayout(QPageLayout(QPageSize(points, QPageSize::Point, QString(), QPageSize::ExactMatch),
                                         QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
        const bool painted = paintVector(&writer, "PDF", error, [&](QCPPainter& painter) {
            painter.setMode(QCPPainter::pmNonCosmetic);
            // The device may round the page to whole device pixels; map the figure onto it exactly.
            painter.setWindow(QRect(QPoint(0, 0), size));
            painter.setViewport(QRect(QPoint(0, 0), QSize(writer.width(), writer.height())));
            paint(painter, size);
        });
        if (!painted) return {};
    }
    if (!out.bytes.startsWith("%PDF")) {
        setError(error, QStringLiteral("PDF rendering produced no output"));
        return {};
    }
    return out.bytes;
}

bool saveFigure(const PaintFunction& paint, const QString& path, QSize size, double scale, const FigureInfo& info,
                QString* error) {
    QByteArray bytes;
    switch (figureFormatForPath(path)) {
        case FigureFormat::Png: bytes = renderPng(paint, size, scale, error); break;
        case FigureFormat::Svg: bytes = renderSvg(paint, size, info, error); break;
        case FigureFormat::Pdf: bytes = renderPdf(paint, size, info, error); break;
        case FigureFormat::Unknown:
            setError(error, QStringLiteral("unknown figure format for “%1”: use .png, .svg or .pdf")
                                .arg(QFileInfo(path).fileName()));
            return false;
    }
    if (bytes.isEmpty()) return false;
    return writeTextFileAtomic(path, bytes, error);
}

PaintFunction plotPainter(QCustomPlot* plot) {
    return [plot](QPainter& painter, const QSize& size) {
        // Every renderer above paints with a QCPPainter.
        auto* qcp = static_cast<QCPPainter*>(&painter);
        plot->toPainter(qcp, size.width(), size.height());
    };
}

namespace {
QSize plotSize(QCustomPlot* plot, QSize size) { return size.isValid() && !size.isEmpty() ? size : plot->size(); }
}  // namespace

bool savePng(QCustomPlot* plot, const QString& path, QSize size, double scale, QString* error) {
    const QByteArray bytes = renderPng(plotPainter(plot), plotSize(plot, size), scale, error);
    return !bytes.isEmpty() && writeTextFileAtomic(path, bytes, error);
}

bool saveSvg(QCustomPlot* plot, const QString& path, QSize size, const FigureInfo& info, QString* error) {
    const QByteArray bytes = renderSvg(plotPainter(plot), plotSize(plot, size), info, error);
    return !bytes.isEmpty() && writeTextFileAtomic(path, bytes, error);
}

bool savePdf(QCustomPlot* plot, const QString& path, QSize size, const FigureInfo& info, QString* error) {
    const QByteArray bytes = renderPdf(plotPainter(plot), plotSize(plot, size), info, error);
    return !bytes.isEmpty() && writeTextFileAtomic(path, bytes, error);
}

bool writeTextFileAtomic(const QString& path, const QByteArray& data, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        setError(error, QStringLiteral("cannot write “%1”: %2").arg(path, file.errorString()));
        return false;
    }
    if (file.write(data) != data.size()) {
        setError(error, QStringLiteral("cannot write “%1”: %2").arg(path, file.errorString()));
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) {
        setError(error, QStringLiteral("cannot save “%1”: %2").arg(path, file.errorString()));
        return false;
    }
    return true;
}

bool writeTextFileAtomic(const QString& path, const QString& text, QString* error) {
    return writeTextFileAtomic(path, text.toUtf8(), error);
}

QString csvField(const QString& s) {
    if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')) ||
        s.contains(QLatin1Char('\r')) || s.startsWith(QLatin1Char(' ')) || s.endsWith(QLatin1Char(' '))) {
        QString q = s;
        q.replace(QLatin1Char('"'), QLatin1String("\"\""));
        return QLatin1Char('"') + q + QLatin1Char('"');
    }
    return s;
}

QString csvNumber(double v) {
    if (std::isnan(v)) return {};
    if (std::isinf(v)) return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    // Shortest text that reads back to the same double.
    for (int precision = 6; precision < 17; ++precision) {
        const QString s = QString::number(v, 'g', precision);
        if (s.toDouble() == v) return s;
    }
    return QString::number(v, 'g', 17);
}

}  // namespace attnscope::widgets
