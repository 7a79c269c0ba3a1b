#pragma once
// AnalysisViews: the six views of a result, each framed by its ViewPanel with the panel's own
// controls — attention map (rows, log scale, reset zoom, the probability under the mouse),
// context text (log shading), entropy along the sequence (smoothing) and the P sweep (P values,
// query length, run/cancel, status). Controls that only restyle their own view are wired here;
// choices that change the selection or start work are signals. ViewFeeder fills the views.
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include "app_state.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace attnscope::widgets {
class AttentionHeatmap;
class ContextView;
class EntropyByLayerPlot;
class EntropySequencePlot;
class LayerHeadGrid;
class SweepPlot;
}  // namespace attnscope::widgets

namespace attnscope::gui {

class ViewPanel;

// Panel keys: they name exported files (attention_map.png) and sessions' current view.
namespace panels {
inline const QString kAttentionMap = QStringLiteral("attention_map");
inline const QString kContextText = QStringLiteral("context_text");
inline const QString kLayerHeadGrid = QStringLiteral("layer_head_grid");
inline const QString kEntropyByLayer = QStringLiteral("entropy_by_layer");
inline const QString kEntropySequence = QStringLiteral("entropy_sequence");
inline const QString kPSweep = QStringLiteral("p_sweep");
}  // namespace panels

class AnalysisViews : public QObject {
    Q_OBJECT
public:
    explicit AnalysisViews(QObject* parent = nullptr);

    widgets::AttentionHeatmap* heatmap() const { return heatmap_; }
    widgets::EntropyByLayerPlot* entropyByLayer() const { return byLayer_; }
    widgets::LayerHeadGrid* layerHeadGrid() const { return grid_; }
    widgets::EntropySequencePlot* sequencePlot() const { return sequence_; }
    widgets::SweepPlot* sweepPlot() const { return sweep_; }
    widgets::ContextView* contextView() const { return contextView_; }
    QList<ViewPanel*> panels() const { return panels_; }
    ViewPanel* panel(const QString& key) const;
    // The view the user worked with last (it had the focus), else the attention map. Its key is
    // empty until one had the focus; sessions save it and restore it.
    ViewPanel* currentPanel() const;
    QString currentPanelKey() const;
    void setCurrentPanel(const QString& key);

    // The rows the attention map shows: all tokens or the query tokens (no signal).
    void setAllTokenRows(bool all);
    bool logScale() const;
    void setLogScale(bool on);
    // The sweep as set in its panel: P values from 1 to 4096 (sorted, each once; empty when none
    // is valid) and the query length. `setSweepSettings` shows saved ones.
    SweepSettings sweepSettings() const;
    void setSweepSettings(const SweepSettings& settings);
    QString sweepPartsText() const;
    // Run/cancel button and status line of the sweep panel.
    void showSweepState(bool running, const QString& status, const QString& statusTip = {});
    // Zooms the attention map about the centre of what it shows (factor < 1: in).
    void zoomAttentionMap(double factor);

signals:
    void allTokenRowsChosen(bool all);
    void sweepButtonClicked();  // "Run sweep" or, while one runs, "Cancel"
    void exportRequested(attnscope::gui::ViewPanel* panel, const QString& format);

private:
    void buildPanels();
    void buildAttentionMapControls();
    void buildSweepControls();

    widgets::AttentionHeatmap* heatmap_ = nullptr;
    widgets::EntropyByLayerPlot* byLayer_ = nullptr;
    widgets::LayerHeadGrid* grid_ = nullptr;
    widgets::EntropySequencePlot* sequence_ = nullptr;
    widgets::SweepPlot* sweep_ = nullptr;
    widgets::ContextView* contextView_ = nullptr;
    QList<ViewPanel*> panels_;
    QPointer<ViewPanel> current_;

    QComboBox* rowsCombo_ = nullptr;
    QCheckBox* logCheck_ = nullptr;
    QLabel* hoverLabel_ = nullptr;
    QLineEdit* sweepParts_ = nullptr;
    QSpinBox* sweepQuery_ = nullptr;
    QPushButton* sweepRun_ = nullptr;
    QLabel* sweepStatus_ = nullptr;
};

}  // namespace attnscope::gui
