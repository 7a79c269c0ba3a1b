#include "heatmap_data.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnscope::widgets {

bool TokenAxisInfo::isConsistent() const {
    const int n = tokenCount();
    if (chunkOfToken.size() != n) return false;
    if (!tokenTexts.isEmpty() && tokenTexts.size() != n) return false;
    if (!tokenIds.isEmpty() && tokenIds.size() != n) return false;
    if (prefixLength < 0 || prefixLength > n || queryBegin < prefixLength || queryBegin > n) return false;
    for (const KeyRange& r : chunkRanges)
        if (r.begin < 0 || r.end < r.begin || r.end > n) return false;
    return true;
}

QString TokenAxisInfo::tokenText(int token) const {
    if (token < 0 || token >= tokenTexts.size()) return {};
    return tokenTexts[token];
}

QString TokenAxisInfo::segmentLabel(int token) const {
    if (token < 0 || token >= tokenCount()) return {};
    switch (segments[token]) {
        case SegmentKind::Prefix: return QStringLiteral("prefix");
        case SegmentKind::Query: return QStringLiteral("query");
        case SegmentKind::Chunk:
            return QStringLiteral("chunk %1").arg(token < chunkOfToken.size() ? chunkOfToken[token] + 1 : 0);
    }
    return {};
}

TokenAxisInfo TokenAxisInfo::fromPlan(const EncodingPlan& plan, const QStringList& tokenTexts) {
    TokenAxisInfo info;
    const int n = plan.tokenCount();
    info.segments.reserve(n);
    info.chunkOfToken.reserve(n);
    info.tokenIds.reserve(n);
    for (int i = 0; i < n; ++i) {
        info.segments.push_back(i < static_cast<int>(plan.segment.size()) ? plan.segment[i] : SegmentKind::Query);
        info.chunkOfToken.push_back(i < static_cast<int>(plan.chunk.size()) ? plan.chunk[i] : -1);
        info.tokenIds.push_back(plan.ids[i]);
    }
    if (tokenTexts.size() == n) {
        info.tokenTexts = tokenTexts;
    } else {
        for (int i = 0; i < n; ++i) info.tokenTexts.push_back(QStringLiteral("#%1").arg(plan.ids[i]));
    }
    for (const KeyRange& r : plan.chunkRanges) info.chunkRanges.push_back(r);
    info.prefixLength = plan.prefixLength;
    info.queryBegin = plan.queryBegin;
    return info;
}

QString displayToken(const QString& text, int maxChars) {
    QString out;
    out.reserve(text.size());
    for (int i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c == QLatin1Char('\n')) out += QChar(0x21B5);       // ↵
        else if (c == QLatin1Char('\t')) out += QChar(0x2192);  // →
        else if (c == QLatin1Char('\r')) continue;
        else if (c == QChar(0x2581) || c == QLatin1Char(' ')) out += QChar(0x00B7);  // ▁ or space → ·
        else if (c.category() == QChar::Other_Control) out += QChar(0xFFFD);
        else out += c;
    }
    if (maxChars > 1 && out.size() > maxChars) out = out.left(maxChars - 1) + QChar(0x2026);
    return out;
}

int HeatmapCells::rowBinOf(int token) const {
    if (rowEdges.size() < 2 || token < rowEdges.front() || token >= rowEdges.back()) return -1;
    const auto it = std::upper_bound(rowEdges.begin(), rowEdges.end(), token);
    return static_cast<int>(it - rowEdges.begin()) - 1;
}

int HeatmapCells::colBinOf(int token) const {
    if (colEdges.size() < 2 || token < colEdges.front() || token >= colEdges.back()) return -1;
    const auto it = std::upper_bound(colEdges.begin(), colEdges.end(), token);
    return static_cast<int>(it - colEdges.begin()) - 1;
}

double HeatmapCells::normalized(double v) const {
    if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
    double t;
    if (scale == HeatmapScale::Log) {
        if (v <= 0 || rangeLower <= 0 || rangeUpper <= rangeLower) return 0;
        t = std::log(v / rangeLower) / std::log(rangeUpper / rangeLower);
    } else {
        if (rangeUpper <= rangeLower) return 0;
        t = (v - rangeLower) / (rangeUpper - rangeLower);
    }
    return std::clamp(t, 0.0, 1.0);
}

namespace {

void computeRange(HeatmapCells& c) {
    if (c.scale == HeatmapScale::Log) {
        c.rangeUpper = c.maxValue > 0 ? c.maxValue : 1;
        const double floor = c.rangeUpper * kLogDynamicRange;
        c.rangeLower = c.minPositive > 0 ? std::max(c.minPositive, floor) : floor;
        if (c.rangeLower >= c.rangeUpper) c.rangeLower = c.rangeUpper * 0.1;
    } else {
        c.rangeLower = 0;
        c.rangeUpper = c.maxValue > 0 ? c.maxValue : 1;
    }
}

// Edges from the tile, or evenly spread over the request window if the tile has none.
QVector<int> edgesOf(const std::vector<int>& edges, int begin, int end, int bins) {
    QVector<int> out;
    if (static_cast<int>(edges.size()) == bins + 1) {
        return QVector<int>(edges.begin(), edges.end());
    }
    out.reserve(bins + 1);
    for (int i = 0; i <= bins; ++i)
        out.push_back(begin + static_cast<int>((static_cast<long long>(end - begin) * i) / std::max(bins, 1)));
    return out;
}

}  // namespace

HeatmapCells heatmapCells(const AttentionTile& tile, HeatmapScale scale) {
    HeatmapCells c;
    c.scale = scale;
    if (tile.rows <= 0 || tile.cols <= 0 ||
        tile.values.size() < static_cast<std::size_t>(tile.rows) * static_cast<std::size_t>(tile.cols)) {
        computeRange(c);
        return c;
    }
    c.rows = tile.rows;
    c.cols = tile.cols;
    c.rowEdges = edgesOf(tile.rowEdges, tile.request.rowBegin, tile.request.rowEnd, tile.rows);
    c.colEdges = edgesOf(tile.colEdges, tile.request.colBegin, tile.request.colEnd, tile.cols);
    c.values.resize(static_cast<qsizetype>(c.rows) * c.cols);
    double minPos = std::numeric_limits<double>::infinity(), maxV = 0;
    for (qsizetype i = 0; i < c.values.size(); ++i) {
        const double v = tile.values[static_cast<std::size_t>(i)];
        if (!(v > 0) || std::isinf(v)) {
            c.values[i] = std::numeric_limits<double>::quiet_NaN();  // not visible: drawn as background
            continue;
        }
        c.values[i] = v;
        minPos = std::min(minPos, v);
        maxV = std::max(maxV, v);
    }
    c.minPositive = std::isinf(minPos) ? 0 : minPos;
    c.maxValue = maxV;
    computeRange(c);
    return c;
}

void unifyRanges(HeatmapCells& a, HeatmapCells& b) {
    if (a.isEmpty() || b.isEmpty()) return;
    const double upper = std::max(a.rangeUpper, b.rangeUpper);
    double lower = std::min(a.rangeLower, b.rangeLower);
    // Log scale: keep the dynamic range of one tile; a window of tiny values must not stretch the
    // colour scale over dozens of decades.
    if (a.scale == HeatmapScale::Log) lower = std::max(lower, upper * kLogDynamicRange);
    a.rangeLower = b.rangeLower = lower;
    a.rangeUpper = b.rangeUpper = upper;
}

QVector<AxisBand> axisBands(const TokenAxisInfo& info, int tokenBegin, int tokenEnd) {
    QVector<AxisBand> bands;
    const int n = info.tokenCount();
    tokenBegin = std::clamp(tokenBegin, 0, n);
    tokenEnd = std::clamp(tokenEnd, tokenBegin, n);
    auto add = [&](SegmentKind kind, int chunk, int b, int e, QString label, QString shortLabel) {
        if (e <= b) return;
        const int cb = std::max(b, tokenBegin), ce = std::min(e, tokenEnd);
        if (ce <= cb) return;
        AxisBand band;
        band.kind = kind;
        band.chunk = chunk;
        band.tokenBegin = cb;
        band.tokenEnd = ce;
        band.lower = cb - 0.5;
        band.upper = ce - 0.5;
        band.label = std::move(label);
        band.shortLabel = std::move(shortLabel);
        band.clipped = cb != b || ce != e;
        bands.push_back(band);
    };
    add(SegmentKind::Prefix, -1, 0, std::min(info.prefixLength, n), QStringLiteral("prefix"), QStringLiteral("P"));
    for (int m = 0; m < info.chunkCount(); ++m)
        add(SegmentKind::Chunk, m, info.chunkRanges[m].begin, info.chunkRanges[m].end,
            QStringLiteral("chunk %1").arg(m + 1), QString::number(m + 1));
    add(SegmentKind::Query, -1, info.queryBegin, n, QStringLiteral("query"), QStringLiteral("Q"));
    return bands;
}

QString bandLabelFor(const AxisBand& band, double pixels, double charPixels) {
    const double pad = 2 * charPixels;
    if (band.label.size() * charPixels + pad <= pixels) return band.label;
    if (band.shortLabel.size() * charPixels + charPixels * 0.5 <= pixels) return band.shortLabel;
    return {};
}

TokenTicks tokenTicks(const TokenAxisInfo& info, double viewLower, double viewUpper, double pixels,
                      double pixelsPerLabel, double pixelsPerNumber) {
    TokenTicks ticks;
    const int n = info.tokenCount();
    if (n == 0 || !(viewUpper > viewLower) || !(pixels > 0)) return ticks;
    const TokenWindow w = tokenWindow(viewLower, viewUpper, n);
    const double tokensShown = viewUpper - viewLower;
    const double pixelsPerToken = pixels / tokensShown;
    if (pixelsPerToken >= pixelsPerLabel && !info.tokenTexts.isEmpty()) {
        ticks.tokenLabels = true;
        for (int t = w.begin; t < w.end; ++t) {
            ticks.positions.push_back(t);
            ticks.labels.push_back(displayToken(info.tokenText(t)));
        }
        return ticks;
    }
    // Numbers at a 1/2/5 × 10^k step.
    const double minStep = std::max(1.0, tokensShown * pixelsPerNumber / pixels);
    double magnitude = std::pow(10.0, std::floor(std::log10(minStep)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        if (m * magnitude >= minStep) {
            step = m * magnitude;
            break;
        }
    }
    const long long s = std::max(1LL, static_cast<long long>(std::llround(step)));
    for (long long t = (w.begin + s - 1) / s * s; t < w.end; t += s) {
        ticks.positions.push_back(static_cast<double>(t));
        ticks.labels.push_back(QString::number(t));
    }
    return ticks;
}

TokenWindow tokenWindow(double lower, double upper, int tokenCount) {
    TokenWindow w;
    if (tokenCount <= 0 || !(upper > lower)) return w;
    // Token t covers [t − 0.5, t + 0.5); include every token the range touches.
    const double b = std::floor(lower + 0.5), e = std::ceil(upper + 0.5);
    w.begin = static_cast<int>(std::clamp(b, 0.0, static_cast<double>(tokenCount)));
    w.end = static_cast<int>(std::clamp(e, static_cast<double>(w.begin), static_cast<double>(tokenCount)));
    return w;
}

}  // namespace attnscope::widgets
