#pragma once
// ContextView: the context as text, token by token, each token shaded by the attention it
// receives from the selected query token (colour map), chunk boundaries marked with labels, and
// per-segment attention mass bars (prefix, chunk 1..P, query) above the text. Clicking a query
// token selects it. Custom painted; export renders the whole content (not only the scrolled part).
#include <QColor>
#include <QRectF>
#include <QString>
#include <QVector>

#include "color_maps.h"
#include "figure_view.h"
#include "heatmap_data.h"

class QScrollArea;

namespace attnscope::widgets {

class ContextCanvas;

class ContextView : public FigureView {
    Q_OBJECT
public:
    explicit ContextView(QWidget* parent = nullptr);
    ~ContextView() override;

    // Tokens with segments and (optionally, in info.tokenIds or `ids`) token ids.
    void setTokens(const TokenAxisInfo& info, const QVector<int>& ids = {});
    const TokenAxisInfo& tokens() const { return info_; }
    // [token] attention weight each token receives (probability; size = token count or empty to
    // clear). `caption` explains it, e.g. "attention from query token 3 (“cat”), layer 5, mean of heads".
    void setAttention(const QVector<double>& weightPerToken, const QString& caption = {});
    const QVector<double>& attention() const { return weights_; }
    // [chunk] attention mass per chunk plus prefix and query mass (each in [0, 1]).
    void setChunkMass(const QVector<double>& chunkMass, double prefixMass, double queryMass);
    // Query token q (0-based among query tokens) drawn selected; −1 clears.
    void setSelectedQuery(int q);
    int selectedQuery() const { return selectedQuery_; }
    // Chunk c drawn framed (a lesson points at it) and scrolled into view; −1 clears.
    void setHighlightedChunk(int chunk);
    int highlightedChunk() const { return highlightedChunk_; }
    void setLogScale(bool on);  // shade by log probability (default linear)
    bool logScale() const { return log_; }
    void setGradient(ColorMapKind kind);

    // Layout queries (widget-independent content coordinates; for tests and the app).
    QRectF tokenRect(int token) const;             // in content coordinates, empty if not laid out
    int tokenAt(const QPointF& contentPos) const;  // −1 if none
    QSize contentSize() const;                     // full content size at the current width
    // Scrolls so `token` is visible.
    void ensureTokenVisible(int token);
    // The shade of a token (background colour) as drawn; invalid if no attention is set.
    QColor tokenShade(int token) const;

    QString dataCsv() const override;  // token, id, text, segment, chunk, weight
    QJsonObject dataJson() const override;
    // Exports the whole content at the current width (height = contentSize().height()).
    bool exportFigure(const QString& path, double scale = 2.0, QString* error = nullptr) override;
    void renderFigure(QPainter& painter, const QSize& size) override;
    // The text scrolls: readable from 20 characters × 4 lines.
    QSize readableSize() const override;

signals:
    void queryTokenClicked(int q);
    void tokenHovered(int token);  // −1 when leaving

protected:
    void applyStyle() override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void scrollToHighlight();
    friend class ContextCanvas;
    void relayout(int width) const;
    double layoutHeader(int width) const;
    double layoutTokens(int width, double top) const;
    void paintContent(QPainter& painter, const QRectF& clip, int width) const;
    void paintMassBars(QPainter& painter) const;
    void paintLegend(QPainter& painter) const;
    void paintTokens(QPainter& painter, const QRectF& clip) const;
    void invalidateLayout();
    double shadePosition(int token) const;  // t ∈ [0, 1] for the token's weight, NaN if none
    QColor shadeAt(double t) const;         // the shade drawn for position t
    QFont tokenFont() const;
    QFont labelFont() const;

    TokenAxisInfo info_;
    QVector<double> weights_;
    double maxWeight_ = 0;  // the largest finite weight: the top of the shading
    QString caption_;
    QVector<double> chunkMass_;
    double prefixMass_ = 0, queryMass_ = 0;
    bool haveMass_ = false;
    int selectedQuery_ = -1;
    int highlightedChunk_ = -1;
    bool log_ = false;
    ColorMapKind gradientKind_ = ColorMapKind::Magma;

    // Layout cache (content coordinates at layoutWidth_).
    mutable int layoutWidth_ = -1;
    mutable QVector<QRectF> tokenRects_;
    struct SegmentLabel {
        QRectF rect;
        QString text;
        QColor color;
    };
    mutable QVector<SegmentLabel> segmentLabels_;
    mutable QRectF massRect_, legendRect_, captionRect_;
    mutable double textTop_ = 0;
    mutable QSize contentSize_;
    QScrollArea* scroll_ = nullptr;
    ContextCanvas* canvas_ = nullptr;
};

}  // namespace attnscope::widgets
