#pragma once
// Colours shared by every attnscope view, so a method, a chunk or a value means the same colour
// everywhere (heatmap, plots, context view, exported figures).
//
// - Perceptual gradients for values (QCustomPlot 2.1 has no viridis, so they are built from stops).
// - A colour-blind-safe chunk palette (Paul Tol / Okabe–Ito families), plus fixed prefix and
//   query colours.
// - Fixed method colours, pen styles and scatter shapes for full / parallel / sink / selective /
//   both (colour plus shape, so the methods stay apart in grey-scale prints too).
#include <QColor>
#include <QString>
#include <Qt>

#include <qcustomplot.h>

#include "plan/method.h"  // Method (value type only)

namespace attnscope::widgets {

enum class ColorMapKind {
    Viridis,    // sequential, dark blue → yellow (default for probabilities and entropy)
    Magma,      // sequential, black → light yellow
    Diverging,  // blue → neutral → red (differences, e.g. method − full)
};

QCPColorGradient viridisGradient();
QCPColorGradient magmaGradient();
QCPColorGradient divergingGradient();
QCPColorGradient gradient(ColorMapKind kind);
// Colour of `kind` at t ∈ [0, 1] (clamped); NaN → transparent.
QColor sampleGradient(ColorMapKind kind, double t);

// Chunk i (0-based) background/identity colour; cycles after the palette size for many chunks.
QColor chunkColor(int chunk);
int chunkPaletteSize();
QColor prefixColor();  // the shared sink prefix
QColor queryColor();   // query tokens

// Method names as the engine writes them: "full", "parallel", "sink", "selective", "both".
// Unknown names get a neutral grey and a solid pen.
QColor methodColor(const QString& method);
Qt::PenStyle methodPenStyle(const QString& method);
QCPScatterStyle::ScatterShape methodScatterShape(const QString& method);
QString methodName(Method method);  // "full" … "both" (same as the engine)
// Order in which methods are listed in legends: full, parallel, sink, selective, both, others.
int methodOrder(const QString& method);

// Black or white, whichever reads better on `background`.
QColor contrastingTextColor(const QColor& background);
// `c` with alpha `alpha` (0–255).
QColor withAlpha(QColor c, int alpha);
// Relative luminance (0 dark … 1 light), used to detect dark palettes.
double luminance(const QColor& c);

}  // namespace attnscope::widgets
