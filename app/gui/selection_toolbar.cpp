#include "selection_toolbar.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>
#include <QSpinBox>

#include <algorithm>

#include "heatmap_data.h"
#include "ui_helpers.h"

namespace attnscope::gui {

namespace {

// Steps `value` by `delta` through -1 ("all" / "mean"), 0, …, n-1 and around.
int stepWithAll(int value, int delta, int n) { return ((value + 1 + delta) % (n + 1) + (n + 1)) % (n + 1) - 1; }

}  // namespace

SelectionToolbar::SelectionToolbar(QWidget* parent) : QToolBar(tr("Selection"), parent) {
    setObjectName(QStringLiteral("selectionToolbar"));
    buildControls();
    buildSteps();
    setChoices(0, 0, {});
}

void SelectionToolbar::buildControls() {
    layerSpin_ = new QSpinBox(this);
    layerSpin_->setObjectName(QStringLiteral("layerSpin"));
    layerSpin_->setPrefix(tr("Layer "));
    layerSpin_->setRange(0, 0);
    layerSpin_->setWrapping(true);
    layerSpin_->setToolTip(
        tr("Layer shown by the attention map, grid, sequence plot and context text "
           "(Ctrl+] / Ctrl+[)"));
    headCombo_ = new QComboBox(this);
    headCombo_->setObjectName(QStringLiteral("headCombo"));
    headCombo_->setToolTip(tr("Head, or the mean over heads (Alt+] / Alt+[)"));
    headCombo_->setMinimumContentsLength(12);
    queryCombo_ = new QComboBox(this);
    queryCombo_->setObjectName(QStringLiteral("queryCombo"));
    queryCombo_->setToolTip(tr("Query token whose attention shades the context text (Ctrl+. / Ctrl+,)"));
    queryCombo_->setMinimumContentsLength(22);
    queryCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    addWidget(captionLabel(tr("Show"), this));
    addWidget(layerSpin_);
    addWidget(headCombo_);
    addWidget(captionLabel(tr("Query token"), this));
    addWidget(queryCombo_);
    connect(layerSpin_, &QSpinBox::valueChanged, this,
            [this](int layer) { choose([layer](ViewSelection& s) { s.layer = layer; }); });
    connect(headCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0) choose([i](ViewSelection& s) { s.head = i - 1; });
    });
    connect(queryCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0) choose([i](ViewSelection& s) { s.queryToken = i - 1; });
    });
}

void SelectionToolbar::buildSteps() {
    auto step = [this](const QString& text, const QString& shortcut, std::function<void(ViewSelection&)> change) {
        auto* a = new QAction(text, this);
        a->setShortcut(QKeySequence(shortcut));
        connect(a, &QAction::triggered, this, [this, change] { choose(change); });
        steps_ << a;
    };
    auto layer = [this](int d) {
        return [this, d](ViewSelection& s) {
            if (layers_ > 0) s.layer = ((s.layer + d) % layers_ + layers_) % layers_;
        };
    };
    auto head = [this](int d) {
        return [this, d](ViewSelection& s) {
            if (heads_ > 0) s.head = stepWithAll(s.head, d, heads_);
        };
    };
    auto query = [this](int d) {
        return [this, d](ViewSelection& s) {
            s.queryToken = stepWithAll(s.queryToken, d, static_cast<int>(queryTokens_.size()));
        };
    };
    step(tr("&Next Layer"), tr("Ctrl+]"), layer(+1));
    step(tr("P&revious Layer"), tr("Ctrl+["), layer(-1));
    step(tr("Next &Head"), tr("Alt+]"), head(+1));
    step(tr("Previous H&ead"), tr("Alt+["), head(-1));
    step(tr("Next &Query Token"), tr("Ctrl+."), query(+1));
    step(tr("Previous Query &Token"), tr("Ctrl+,"), query(-1));
}

void SelectionToolbar::choose(const std::function<void(ViewSelection&)>& change) {
    if (syncing_) return;
    ViewSelection s = selection_;
    change(s);
    if (!(s == selection_)) emit selectionChanged(s);
}

void SelectionToolbar::setChoices(int layers, int heads, const QStringList& queryTokens) {
    layers_ = layers;
    heads_ = heads;
    syncing_ = true;
    layerSpin_->setRange(0, std::max(0, layers - 1));
    layerSpin_->setEnabled(layers > 0);
    if (headCombo_->count() != heads + 1) {
        headCombo_->clear();
        headCombo_->addItem(tr("mean of heads"));
        for (int h = 0; h < heads; ++h) headCombo_->addItem(tr("head %1").arg(h));
    }
    headCombo_->setEnabled(layers > 0);
    if (queryTokens != queryTokens_ || queryCombo_->count() == 0) {
        queryTokens_ = queryTokens;
        queryCombo_->clear();
        queryCombo_->addItem(tr("all query tokens (mean)"));
        for (int q = 0; q < queryTokens.size(); ++q)
            queryCombo_->addItem(QStringLiteral("%1 · %2").arg(q).arg(widgets::displayToken(queryTokens[q], 18)));
    }
    queryCombo_->setEnabled(!queryTokens.isEmpty());
    syncing_ = false;
    setSelection(selection_);
}

void SelectionToolbar::setSelection(const ViewSelection& selection) {
    selection_ = selection;
    syncing_ = true;
    layerSpin_->setValue(selection.layer);
    headCombo_->setCurrentIndex(selection.head + 1);
    queryCombo_->setCurrentIndex(selection.queryToken + 1);
    syncing_ = false;
}

}  // namespace attnscope::gui
