#pragma once
// ViewFeeder: routes the controller's results and the shared selection into the views, and the
// views' clicks back into the selection (grid cell → layer and head, context token or map row →
// query token). It asks for what the views need next (attention-map tiles at screen resolution,
// the token shading) and knows when every view shows the current result (isSettled).
#include <QObject>

#include "analysis_controller.h"
#include "entropy_by_layer_plot.h"
#include "heatmap_data.h"

namespace attnscope::gui {

class AnalysisViews;

class ViewFeeder : public QObject {
    Q_OBJECT
public:
    ViewFeeder(AnalysisController* controller, AnalysisViews* views, QObject* parent = nullptr);

    // Every panel shows `text` instead of a view (the P sweep keeps rows it has).
    void showNoResult(const QString& text, bool isError);
    // The current result is shown everywhere, with its attention-map tile and token shading (or
    // the current configuration failed and says why).
    bool isSettled() const;
    void releaseResult() { shown_.reset(); }  // before the engine goes away

signals:
    void settled();

private:
    void onCurrentChanged();
    void onMethodsChanged();
    QList<widgets::MethodSeries> methodSeries() const;
    void addCurrentSeries(QList<widgets::MethodSeries>& series) const;
    void onSelectionChanged();
    void onSweepChanged();
    void onSweepFailed(const QString& message);
    void connectViewLinks();
    void showLayerHeadGrid(const AnalysisResult& r);
    void updateHeatmapWindow(bool resetZoom);
    void requestOverviewTile();
    void updateSequencePlot();
    void updateContextView();
    void checkSettled();
    void select(const std::function<void(ViewSelection&)>& change);

    AnalysisController* controller_;
    AnalysisViews* views_;

    BundlePtr shown_;
    widgets::TokenAxisInfo axisInfo_;
    bool overviewPending_ = false;
    bool attentionPending_ = false;
    struct TileKey {
        int layer = 0, head = -1, rowBegin = 0, rowEnd = 0, colBegin = 0, colEnd = 0;
        bool operator==(const TileKey&) const = default;
    };
    TileKey overviewKey_;
    bool wasSettled_ = false;
};

}  // namespace attnscope::gui
