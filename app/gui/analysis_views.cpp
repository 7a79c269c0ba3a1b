#include "analysis_views.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

#include <algorithm>
#include <cmath>

#include "attention_heatmap.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "sweep_plot.h"
#include "ui_helpers.h"
#include "view_panel.h"

namespace attnscope::gui {

AnalysisViews::AnalysisViews(QObject* parent) : QObject(parent) {
    heatmap_ = new widgets::AttentionHeatmap;
    byLayer_ = new widgets::EntropyByLayerPlot;
    grid_ = new widgets::LayerHeadGrid;
    sequence_ = new widgets::EntropySequencePlot;
    sweep_ = new widgets::SweepPlot;
    contextView_ = new widgets::ContextView;

    heatmap_->setExportSize({900, 820});
    byLayer_->setExportSize({720, 480});
    grid_->setExportSize({640, 480});
    sequence_->setExportSize({1000, 420});
    sweep_->setExportSize({1000, 440});
    contextView_->setExportSize({900, 700});

    buildPanels();
    buildAttentionMapControls();
    buildSweepControls();

    auto* contextLog = new QCheckBox(tr("Log shading"));
    panel(panels::kContextText)->addControls({contextLog});
    connect(contextLog, &QCheckBox::toggled, contextView_, &widgets::ContextView::setLogScale);

    auto* smoothing = new QSpinBox;
    smoothing->setRange(0, 64);
    smoothing->setPrefix(tr("Smoothing: "));
    smoothing->setSuffix(tr(" tokens"));
    smoothing->setSpecialValueText(tr("Smoothing: off"));
    panel(panels::kEntropySequence)->addControls({smoothing});
    connect(smoothing, &QSpinBox::valueChanged, sequence_, &widgets::EntropySequencePlot::setSmoothing);
}

void AnalysisViews::buildPanels() {
    panels_ << new ViewPanel(panels::kAttentionMap, tr("Attention map"), heatmap_);
    panels_ << new ViewPanel(panels::kContextText, tr("Context text"), contextView_);
    panels_ << new ViewPanel(panels::kLayerHeadGrid, tr("Entropy per layer and head"), grid_);
    panels_ << new ViewPanel(panels::kEntropyByLayer, tr("Query entropy by layer"), byLayer_);
    panels_ << new ViewPanel(panels::kEntropySequence, tr("Entropy along the sequence"), sequence_);
    panels_ << new ViewPanel(panels::kPSweep, tr("P sweep"), sweep_);
    for (ViewPanel* p : panels_)
        connect(p, &ViewPanel::exportRequested, this,
                [this, p](const QString& format) { emit exportRequested(p, format); });
    connect(qApp, &QApplication::focusChanged, this, [this](QWidget*, QWidget* now) {
        for (QWidget* w = now; w; w = w->parentWidget())
            if (auto* p = qobject_cast<ViewPanel*>(w)) {
                current_ = p;
                break;
            }
    });
}

ViewPanel* AnalysisViews::panel(const QString& key) const {
    for (ViewPanel* p : panels_)
        if (p->key() == key) return p;
    return nullptr;
}

ViewPanel* AnalysisViews::currentPanel() const { return current_ ? current_.data() : panels_.front(); }
QString AnalysisViews::currentPanelKey() const { return current_ ? current_->key() : QString(); }
void AnalysisViews::setCurrentPanel(const QString& key) { current_ = panel(key); }

void AnalysisViews::buildAttentionMapControls() {
    rowsCombo_ = new QComboBox;
    rowsCombo_->addItem(tr("Rows: all tokens"));
    rowsCombo_->addItem(tr("Rows: query tokens"));
    rowsCombo_->setToolTip(tr("Which attending tokens the map shows as rows"));
    logCheck_ = new QCheckBox(tr("Log scale"));
    logCheck_->setChecked(true);  // attention is heavy-tailed: the log scale shows the structure
    heatmap_->setLogScale(true);
    auto* resetZoom = new QToolButton;
    resetZoom->setIcon(appIcon(QStringLiteral("zoom-reset")));
    resetZoom->setToolTip(tr("Show the whole map (Ctrl+0)"));
    resetZoom->setAutoRaise(true);
    hoverLabel_ = new QLabel;
    hoverLabel_->setForegroundRole(QPalette::PlaceholderText);
    hoverLabel_->setMinimumWidth(60);
    panel(panels::kAttentionMap)->addControls({rowsCombo_, logCheck_, resetZoom, hoverLabel_});
    connect(rowsCombo_, &QComboBox::activated, this, [this](int i) { emit allTokenRowsChosen(i == 0); });
    connect(logCheck_, &QCheckBox::toggled, heatmap_, &widgets::AttentionHeatmap::setLogScale);
    connect(resetZoom, &QToolButton::clicked, heatmap_, &widgets::AttentionHeatmap::resetView);
    connect(heatmap_, &widgets::AttentionHeatmap::cellHovered, this, [this](int row, int key, double p) {
        if (row < 0 || key < 0 || std::isnan(p)) {
            hoverLabel_->clear();
            return;
        }
        const widgets::TokenAxisInfo& info = heatmap_->axisInfo();
        const QString from = widgets::displayToken(info.tokenText(row), 10),
                      to = widgets::displayToken(info.tokenText(key), 10);
        hoverLabel_->setText(tr("%1 → %2: %3").arg(from, to).arg(p, 0, 'g', 3));
    });
}

void AnalysisViews::buildSweepControls() {
    ViewPanel* sweepPanel = panel(panels::kPSweep);
    sweepParts_ = new QLineEdit;
    sweepParts_->setToolTip(tr("Numbers of chunks P to try, separated by commas"));
    sweepParts_->setMaximumWidth(140);
    sweepQuery_ = new QSpinBox;
    sweepQuery_->setRange(0, 4096);
    sweepQuery_->setPrefix(tr("query: last "));
    sweepQuery_->setSuffix(tr(" tokens"));
    sweepQuery_->setSpecialValueText(tr("query: as written"));
    sweepQuery_->setToolTip(
        tr("The sweep joins the chunks and the query into one text, keeps its last N tokens as the "
           "query and splits the rest into P equal chunks. “As written”: N = your query's tokens."));
    sweepRun_ = new QPushButton(tr("Run sweep"));
    sweepStatus_ = new QLabel;
    sweepStatus_->setForegroundRole(QPalette::PlaceholderText);
    sweepPanel->addControls({captionLabel(tr("P:")), sweepParts_, sweepQuery_, sweepRun_, sweepStatus_});
    setSweepSettings(SweepSettings{});
    connect(sweepRun_, &QPushButton::clicked, this, &AnalysisViews::sweepButtonClicked);
}

void AnalysisViews::setAllTokenRows(bool all) { rowsCombo_->setCurrentIndex(all ? 0 : 1); }

bool AnalysisViews::logScale() const { return logCheck_->isChecked(); }
void AnalysisViews::setLogScale(bool on) { logCheck_->setChecked(on); }

SweepSettings AnalysisViews::sweepSettings() const {
    SweepSettings s;
    s.parts.clear();
    for (const QString& part : sweepParts_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int p = part.trimmed().toInt(&ok);
        if (ok && p >= 1 && p <= SweepSettings::kMaxParts && !s.parts.contains(p)) s.parts << p;
    }
    std::sort(s.parts.begin(), s.parts.end());
    s.queryTokens = sweepQuery_->value();
    return s;
}

void AnalysisViews::setSweepSettings(const SweepSettings& settings) {
    QStringList parts;
    for (int p : settings.parts) parts << QString::number(p);
    sweepParts_->setText(parts.join(QStringLiteral(", ")));
    sweepQuery_->setValue(settings.queryTokens);
}

QString AnalysisViews::sweepPartsText() const { return sweepParts_->text(); }

void AnalysisViews::showSweepState(bool running, const QString& status, const QString& statusTip) {
    sweepRun_->setText(running ? tr("Cancel") : tr("Run sweep"));
    sweepStatus_->setText(status);
    if (!statusTip.isEmpty()) sweepStatus_->setToolTip(statusTip);
}

void AnalysisViews::zoomAttentionMap(double factor) {
    const widgets::TokenWindow r = heatmap_->visibleRows(), c = heatmap_->visibleCols();
    auto scale = [factor](widgets::TokenWindow w, int limit) {
        const double centre = 0.5 * (w.begin + w.end);
        const double half = std::max(2.0, 0.5 * (w.end - w.begin) * factor);
        int b = static_cast<int>(std::floor(centre - half)), e = static_cast<int>(std::ceil(centre + half));
        if (b < 0) e -= b, b = 0;
        if (e > limit) b -= e - limit, e = limit;
        return widgets::TokenWindow{std::max(0, b), e};
    };
    const int n = heatmap_->axisInfo().tokenCount();
    if (n == 0) return;
    const auto rr = scale(r, n), cc = scale(c, n);
    heatmap_->setView(rr.begin, rr.end, cc.begin, cc.end);
}

}  // namespace attnscope::gui
