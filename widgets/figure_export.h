#pragma once
// Figure and data export helpers shared by every view.
//
// Figures are rendered through one paint function into PNG (raster, `scale` × the logical size),
// SVG (vector; text stays <text> elements) or PDF (vector). The logical size is in device-
// independent pixels; fonts are rendered at the same DPI as on screen, so an exported figure looks
// like the widget. Every file is written atomically (QSaveFile): a failed export never leaves a
// truncated file behind.
#include <functional>

#include <QByteArray>
#include <QSize>
#include <QString>

class QPainter;
class QCustomPlot;

namespace attnscope::widgets {

enum class FigureFormat { Png, Svg, Pdf, Unknown };
// From the file extension (case-insensitive): .png, .svg, .pdf.
FigureFormat figureFormatForPath(const QString& path);

// Paints a figure of `size` logical pixels. The painter is a QCPPainter (QCustomPlot's painter).
using PaintFunction = std::function<void(QPainter& painter, const QSize& size)>;

struct FigureInfo {
    QString title;        // SVG <title>, PDF title
    QString description;  // SVG <desc>
    QString creator = QStringLiteral("attnscope");
};

// Renderers: return the file bytes, or an empty array and a message in *error.
QByteArray renderPng(const PaintFunction& paint, QSize size, double scale, QString* error = nullptr);
QByteArray renderSvg(const PaintFunction& paint, QSize size, const FigureInfo& info, QString* error = nullptr);
QByteArray renderPdf(const PaintFunction& paint, QSize size, const FigureInfo& info, QString* error = nullptr);

// Render by the extension of `path` and write atomically.
bool saveFigure(const PaintFunction& paint, const QString& path, QSize size, double scale, const FigureInfo& info,
                QString* error = nullptr);

// The same for a QCustomPlot (paints it with QCustomPlot::toPainter at `size`; 0×0 = its size).
PaintFunction plotPainter(QCustomPlot* plot);
bool savePng(QCustomPlot* plot, const QString& path, QSize size = {}, double scale = 2.0, QString* error = nullptr);
bool saveSvg(QCustomPlot* plot, const QString& path, QSize size = {}, const FigureInfo& info = {},
             QString* error = nullptr);
bool savePdf(QCustomPlot* plot, const QString& path, QSize size = {}, const FigureInfo& info = {},
             QString* error = nullptr);

// Atomic write (QSaveFile: temporary file + rename).
bool writeTextFileAtomic(const QString& path, const QByteArray& data, QString* error = nullptr);
bool writeTextFileAtomic(const QString& path, const QString& text, QString* error = nullptr);  // UTF-8

// CSV helpers (RFC 4180 quoting; numbers with full round-trip precision, NaN as empty).
QString csvField(const QString& s);
QString csvNumber(double v);

}  // namespace attnscope::widgets
