#include "color_maps.h"

#include <algorithm>
#include <cmath>

namespace attnscope::widgets {
namespace {

// Stops sampled from the matplotlib colour maps (CC0, van der Walt & Smith), 9 per map; the
// gradient interpolates linearly in RGB between them, which stays perceptually close.
constexpr unsigned kViridis[] = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                 0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};
constexpr unsigned kMagma[] = {0x000004, 0x1c1044, 0x4f127b, 0x812581, 0xb5367a,
                               0xe55964, 0xfb8761, 0xfec287, 0xfcfdbf};
// Blue–white–red (ColorBrewer RdBu reversed, light centre).
constexpr unsigned kDiverging[] = {0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
                                   0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b};

template <std::size_t N>
QCPColorGradient fromStops(const unsigned (&stops)[N]) {
    QCPColorGradient g;
    QMap<double, QColor> map;
    for (std::size_t i = 0; i < N; ++i) map.insert(static_cast<double>(i) / (N - 1), QColor::fromRgb(stops[i]));
    g.setColorStops(map);
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    g.setLevelCount(256);
    g.setNanHandling(QCPColorGradient::nhTransparent);
    g.setPeriodic(false);
    return g;
}

// Chunk colours: Paul Tol's "muted" qualitative scheme (colour-blind safe), without its grey,
// which is kept for the prefix.
constexpr unsigned kChunks[] = {0x88ccee, 0xcc6677, 0xddcc77, 0x117733, 0x332288,
                                0xaa4499, 0x44aa99, 0x999933, 0x882255};

}  // namespace

QCPColorGradient viridisGradient() { return fromStops(kViridis); }
QCPColorGradient magmaGradient() { return fromStops(kMagma); }
QCPColorGradient divergingGradient() { return fromStops(kDiverging); }

QCPColorGradient gradient(ColorMapKind kind) {
    switch (kind) {
        case ColorMapKind::Viridis: return viridisGradient();
        case ColorMapKind::Magma: return magmaGradient();
        case ColorMapKind::Diverging: return divergingGradient();
    }
    return viridisGradient();
}

QColor sampleGradient(ColorMapKind kind, double t) {
    if (std::isnan(t)) return QColor(0, 0, 0, 0);
    t = std::clamp(t, 0.0, 1.0);
    auto sample = [t](const auto& stops) {
        constexpr int n = static_cast<int>(std::size(kViridis));
        const double x = t * (n - 1);
        const int i = std::min(static_cast<int>(x), n - 2);
        const double f = x - i;
        const QColor a = QColor::fromRgb(stops[i]), b = QColor::fromRgb(stops[i + 1]);
        return QColor::fromRgbF(static_cast<float>(a.redF() + f * (b.redF() - a.redF())),
                                static_cast<float>(a.greenF() + f * (b.greenF() - a.greenF())),
                                static_cast<float>(a.blueF() + f * (b.blueF() - a.blueF())));
    };
    switch (kind) {
        case ColorMapKind::Viridis: return sample(kViridis);
        case ColorMapKind::Magma: return sample(kMagma);
        case ColorMapKind::Diverging: return sample(kDiverging);
    }
    return sample(kViridis);
}

int chunkPaletteSize() { return static_cast<int>(std::size(kChunks)); }

QColor chunkColor(int chunk) {
    const int n = chunkPaletteSize();
    const int i = ((chunk % n) + n) % n;
    return QColor::fromRgb(kChunks[i]);
}

QColor prefixColor() { return QColor::fromRgb(0xbbbbbb); }
QColor queryColor() { return QColor::fromRgb(0xee7733); }  // Tol "vibrant" orange

// Method colours: Okabe–Ito (colour-blind safe), readable on light and dark backgrounds.
QColor methodColor(const QString& method) {
    const QString m = method.toLower();
    if (m == QLatin1String("full")) return QColor::fromRgb(0x0072b2);       // blue
    if (m == QLatin1String("parallel")) return QColor::fromRgb(0xd55e00);   // vermillion
    if (m == QLatin1String("sink")) return QColor::fromRgb(0x009e73);       // bluish green
    if (m == QLatin1String("selective")) return QColor::fromRgb(0xcc79a7);  // reddish purple
    if (m == QLatin1String("both")) return QColor::fromRgb(0xe69f00);       // orange
    return QColor::fromRgb(0x888888);
}

Qt::PenStyle methodPenStyle(const QString& method) {
    const QString m = method.toLower();
    if (m == QLatin1String("sink")) return Qt::DashLine;
    if (m == QLatin1String("selective")) return Qt::DashDotLine;
    if (m == QLatin1String("both")) return Qt::DotLine;
    return Qt::SolidLine;
}

QCPScatterStyle::ScatterShape methodScatterShape(const QString& method) {
    const QString m = method.toLower();
    if (m == QLatin1String("full")) return QCPScatterStyle::ssCircle;
    if (m == QLatin1String("parallel")) return QCPScatterStyle::ssSquare;
    if (m == QLatin1String("sink")) return QCPScatterStyle::ssTriangle;
    if (m == QLatin1String("selective")) return QCPScatterStyle::ssDiamond;
    if (m == QLatin1String("both")) return QCPScatterStyle::ssTriangleInverted;
    return QCPScatterStyle::ssCross;
}

QString methodName(Method method) { return QString::fromLatin1(toString(method)); }

int methodOrder(const QString& method) {
    const QString m = method.toLower();
    for (std::size_t i = 0; i < std::size(kMethodDefinitions); ++i)  // the engine's method order
        if (m == QLatin1String(kMethodDefinitions[i].name)) return static_cast<int>(i);
    return static_cast<int>(std::size(kMethodDefinitions));
}

double luminance(const QColor& c) {
    auto lin = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF());
}

QColor contrastingTextColor(const QColor& background) {
    // Contrast ratio against black vs white (WCAG); pick the larger.
    const double l = luminance(background);
    const double vsBlack = (l + 0.05) / 0.05;
    const double vsWhite = 1.05 / (l + 0.05);
    return vsBlack >= vsWhite ? QColor(Qt::black) : QColor(Qt::white);
}

QColor withAlpha(QColor c, int alpha) {
    c.setAlpha(std::clamp(alpha, 0, 255));
    return c;
}

}  // namespace attnscope::widgets
