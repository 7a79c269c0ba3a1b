#pragma once
// AttentionHeatmap: pooled attention probabilities of one layer/head (or the head mean) as a
// colour map, rows = attending tokens (top to bottom), columns = keys, both in physical order.
// Chunk/prefix/query bands run along the top and left; chunk boundaries are drawn as thin lines.
//
// Only the pooled tile it was given is drawn (never N×N). The first tile covering the home view
// is kept as an overview; a tile covering a smaller window is drawn on top as the detail. After
// zoom/pan/resize the widget emits viewportChanged (debounced) so the app can request a tile for
// the new window at screen resolution.
//
// Mouse: wheel zooms, drag pans, hover shows a tooltip. Keys: + / − zoom, arrows pan, Home resets.
#include <QTimer>

#include "analysis/attention_tile.h"
#include "color_maps.h"
#include "heatmap_data.h"
#include "plot_view.h"

class QCPColorMap;
class QCPColorScale;

namespace attnscope::widgets {

class AttentionHeatmap : public PlotView {
    Q_OBJECT
public:
    explicit AttentionHeatmap(QWidget* parent = nullptr);
    ~AttentionHeatmap() override;

    void setAxisInfo(const TokenAxisInfo& info);
    const TokenAxisInfo& axisInfo() const { return info_; }
    // Shows `tile`. A tile covering the home view replaces the overview (and drops the detail);
    // a smaller one replaces the detail.
    void setTile(const attnscope::AttentionTile& tile);
    void clear();
    void setLogScale(bool on);
    bool logScale() const { return log_; }
    void setGradient(ColorMapKind kind);

    // Window shown by Home; default: all rows and columns [0, N).
    void setHomeView(int rowBegin, int rowEnd, int colBegin, int colEnd);
    void resetView();
    // Shows tokens [rowBegin, rowEnd) × [colBegin, colEnd).
    void setView(int rowBegin, int rowEnd, int colBegin, int colEnd);
    TokenWindow visibleRows() const;
    TokenWindow visibleCols() const;
    // Size in device pixels of the data area (what a refined tile should be pooled to).
    QSize dataAreaPixels() const;

    const HeatmapCells& overviewCells() const { return overview_; }
    const HeatmapCells& detailCells() const { return detail_; }
    // Probability shown at (row token, key token): detail if it covers the cell, else overview;
    // NaN if none.
    double probabilityAt(int rowToken, int keyToken) const;

    QCPColorMap* colorMap() const { return overviewMap_; }
    QCPColorMap* detailColorMap() const { return detailMap_; }
    QCPColorScale* colorScale() const { return colorScale_; }
    QCPAxisRect* dataRect() const { return dataRect_; }

    QString dataCsv() const override;  // the cells shown: row/col token ranges + probability
    QJsonObject dataJson() const override;

signals:
    void viewportChanged(int rowBegin, int rowEnd, int colBegin, int colEnd, int pixelsWide, int pixelsHigh);
    // Hover over a cell (tokens, probability shown); (-1, -1, NaN) when leaving the data area.
    void cellHovered(int rowToken, int keyToken, double probability);
    void cellClicked(int rowToken, int keyToken);

protected:
    void applyStyle() override;
    void keyPressEvent(QKeyEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void buildLayout();
    void setUpAxes();
    void connectInteraction();
    void addBand(QCPAxisRect* strip, const AxisBand& band, int index, bool horizontal);
    void addBoundaryLine(const QPointF& from, const QPointF& to);  // through two points (tokens)
    void rebuildMaps();
    void rebuildDecorations();  // bands, boundary lines, ticks
    void updateTicks();
    void onRangeChanged();
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    void clampRanges();
    void zoomBy(double factor);
    void panBy(double dxFraction, double dyFraction);

    TokenAxisInfo info_;
    HeatmapCells overview_, detail_;
    attnscope::AttentionTile overviewTile_, detailTile_;
    bool log_ = false;
    ColorMapKind gradientKind_ = ColorMapKind::Viridis;
    TokenWindow homeRows_{0, 0}, homeCols_{0, 0};
    bool homeSet_ = false;
    QCPAxisRect* dataRect_ = nullptr;
    QCPAxisRect* topStrip_ = nullptr;
    QCPAxisRect* leftStrip_ = nullptr;
    QCPColorMap* overviewMap_ = nullptr;
    QCPColorMap* detailMap_ = nullptr;
    QCPColorScale* colorScale_ = nullptr;
    QTimer viewportTimer_;
    bool adjusting_ = false;
};

}  // namespace attnscope::widgets
