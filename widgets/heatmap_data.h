#pragma once
// Pure conversions (no widgets) from engine value types to what the views draw: colour-map cells,
// segment bands (prefix / chunk m / query) with labels, and token-axis ticks. Testable without a
// window.
//
// Coordinates: token index space in physical order; token i occupies [i − 0.5, i + 0.5) so that
// a token's centre is at i. In the heatmap, x = key token (column), y = attending token (row).
#include <QString>
#include <QStringList>
#include <QVector>

#include "analysis/attention_tile.h"
#include "plan/encoding_plan.h"

namespace attnscope::widgets {

// What the views need to know about the token axis of a run.
struct TokenAxisInfo {
    QStringList tokenTexts;                    // [token] display text (raw piece text is fine)
    QVector<attnscope::SegmentKind> segments;  // [token]
    QVector<int> chunkOfToken;                 // [token] chunk index, −1 outside chunks
    QVector<attnscope::KeyRange> chunkRanges;  // [chunk] [begin, end) tokens
    int prefixLength = 0;                      // S: tokens [0, S) are the prefix
    int queryBegin = 0;                        // query = [queryBegin, N)
    QVector<int> tokenIds;                     // [token] optional (ContextView tooltips, export)

    int tokenCount() const { return static_cast<int>(segments.size()); }
    int chunkCount() const { return static_cast<int>(chunkRanges.size()); }
    int queryCount() const { return tokenCount() - queryBegin; }
    bool isEmpty() const { return segments.isEmpty(); }
    // Sizes agree and ranges are inside [0, N).
    bool isConsistent() const;
    QString tokenText(int token) const;  // "" when out of range or missing
    // "prefix", "chunk 3" (1-based), "query"; "" out of range.
    QString segmentLabel(int token) const;

    // From an EncodingPlan; `tokenTexts` may be empty (texts become "#id").
    static TokenAxisInfo fromPlan(const attnscope::EncodingPlan& plan, const QStringList& tokenTexts = {});
};

// A token made readable on one line: spaces → '·' (leading/trailing), '\n' → '↵', '\t' → '→',
// other control characters → '�', SentencePiece '▁' → '·'; cut to `maxChars` with '…'.
QString displayToken(const QString& text, int maxChars = 14);

enum class HeatmapScale { Linear, Log };

// A pooled attention tile ready for a colour map.
struct HeatmapCells {
    int rows = 0, cols = 0;
    QVector<double> values;           // [row][col] probability; NaN where nothing is visible (0)
    QVector<int> rowEdges, colEdges;  // token edges: row r covers [rowEdges[r], rowEdges[r+1])
    double minPositive = 0;           // smallest value > 0 (0 if none)
    double maxValue = 0;              // largest value
    HeatmapScale scale = HeatmapScale::Linear;
    double rangeLower = 0, rangeUpper = 1;  // colour range (probabilities); log: lower > 0

    bool isEmpty() const { return rows == 0 || cols == 0; }
    double at(int r, int c) const { return values[r * cols + c]; }
    // Token span in axis coordinates (edges − 0.5).
    double keyLower() const { return colEdges.isEmpty() ? 0 : colEdges.front() - 0.5; }
    double keyUpper() const { return colEdges.isEmpty() ? 0 : colEdges.back() - 0.5; }
    double rowLower() const { return rowEdges.isEmpty() ? 0 : rowEdges.front() - 0.5; }
    double rowUpper() const { return rowEdges.isEmpty() ? 0 : rowEdges.back() - 0.5; }
    // Cell containing token (row, key), or −1.
    int rowBinOf(int token) const;
    int colBinOf(int token) const;
    // Position of value v in the colour range, in [0, 1] (log scale: logarithmic); NaN for NaN.
    double normalized(double v) const;
};

// Log scale: the lower end of the range is max(minPositive, maxValue × kLogDynamicRange).
inline constexpr double kLogDynamicRange = 1e-4;

HeatmapCells heatmapCells(const attnscope::AttentionTile& tile, HeatmapScale scale = HeatmapScale::Linear);
// One colour range for two tiles shown together (a coarse overview and a zoomed detail): the
// union, limited on a log scale to kLogDynamicRange below the common maximum.
void unifyRanges(HeatmapCells& a, HeatmapCells& b);

// A segment of the token axis: the prefix, one chunk or the query.
struct AxisBand {
    attnscope::SegmentKind kind = attnscope::SegmentKind::Chunk;
    int chunk = -1;                    // chunk index for chunk bands
    int tokenBegin = 0, tokenEnd = 0;  // [begin, end) tokens, clipped to the view window
    double lower = 0, upper = 0;       // axis coordinates (tokenBegin − 0.5, tokenEnd − 0.5)
    QString label;                     // "prefix", "chunk 3", "query"
    QString shortLabel;                // "P", "3", "Q"
    bool clipped = false;              // the segment extends beyond the window
};

// Bands intersecting tokens [tokenBegin, tokenEnd) (empty segments are skipped).
QVector<AxisBand> axisBands(const TokenAxisInfo& info, int tokenBegin, int tokenEnd);
// The label that fits in `pixels` with average character width `charPixels`: label, shortLabel
// or "".
QString bandLabelFor(const AxisBand& band, double pixels, double charPixels);

struct TokenTicks {
    QVector<double> positions;  // axis coordinates (token centres)
    QVector<QString> labels;
    bool tokenLabels = false;  // true: one tick per token with its text; false: numbers
};

// Ticks for the view [viewLower, viewUpper] (axis coordinates) drawn over `pixels`. Token text is
// used when every token gets at least `pixelsPerLabel` (rotated labels: the font's line height);
// otherwise index numbers at a 1/2/5 × 10^k step leaving at least `pixelsPerNumber` between ticks.
TokenTicks tokenTicks(const TokenAxisInfo& info, double viewLower, double viewUpper, double pixels,
                      double pixelsPerLabel, double pixelsPerNumber = 60);

// Integer token window [begin, end) covered by an axis range, clamped to [0, tokenCount).
struct TokenWindow {
    int begin = 0, end = 0;
};
TokenWindow tokenWindow(double lower, double upper, int tokenCount);

}  // namespace attnscope::widgets
