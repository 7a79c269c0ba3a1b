#pragma once
// LayerHeadGrid: one value per (layer, head) — by default mean query attention entropy in nats —
// as a colour grid with a colour scale. x = head, y = layer (layer 0 at the bottom). Clicking a
// cell emits headSelected; setSelected draws a marker around a cell.
#include <QPoint>
#include <QVector>

#include "color_maps.h"
#include "plot_view.h"

class QCPColorMap;
class QCPColorScale;
class QCPItemRect;

namespace attnscope::widgets {

class LayerHeadGrid : public PlotView {
    Q_OBJECT
public:
    explicit LayerHeadGrid(QWidget* parent = nullptr);
    ~LayerHeadGrid() override;

    // values: [layer][head], size layers × heads (NaN cells are left blank).
    void setEntropy(int layers, int heads, const QVector<double>& values);
    int layers() const { return layers_; }
    int heads() const { return heads_; }
    double valueAt(int layer, int head) const;
    // Colour-scale label; default "query attention entropy (nats)".
    void setValueLabel(const QString& label);
    void setGradient(ColorMapKind kind);
    // Marks a cell; (−1, −1) clears.
    void setSelected(int layer, int head);
    int selectedLayer() const { return selLayer_; }
    int selectedHead() const { return selHead_; }
    // Centre of a cell in widget pixels (after layout); (−1, −1) if out of range.
    QPoint cellCenter(int layer, int head) const;

    QCPColorMap* colorMap() const { return map_; }
    QCPColorScale* colorScale() const { return scale_; }

    QString dataCsv() const override;  // layer, head, value
    QJsonObject dataJson() const override;

signals:
    void headSelected(int layer, int head);
    void headHovered(int layer, int head, double value);  // (−1, −1, NaN) when leaving

protected:
    void applyStyle() override;

private:
    void rebuild();
    void onMouseMove(QMouseEvent* event);
    void updateMarker();
    bool cellAt(const QPointF& pixel, int* layer, int* head) const;

    int layers_ = 0, heads_ = 0;
    QVector<double> values_;
    QString valueLabel_;
    ColorMapKind gradientKind_ = ColorMapKind::Viridis;
    int selLayer_ = -1, selHead_ = -1;
    QCPAxisRect* rect_ = nullptr;
    QCPColorMap* map_ = nullptr;
    QCPColorScale* scale_ = nullptr;
    QCPItemRect* marker_ = nullptr;
};

}  // namespace attnscope::widgets
