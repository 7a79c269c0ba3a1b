#include "method_toolbar.h"

#include <QAction>
#include <QActionGroup>
#include <QComboBox>
#include <QSpinBox>

#include "ui_helpers.h"

namespace attnscope::gui {

namespace {

QAction* toggle(const QString& text, const QString& shortcut, const QString& icon, const QString& tip,
                QObject* parent) {
    auto* a = new QAction(appIcon(icon), text, parent);
    a->setShortcut(QKeySequence(shortcut));
    a->setToolTip(tip);
    a->setCheckable(true);
    return a;
}

// A combo box of `items` (text, enum value as int).
QComboBox* choiceCombo(const QList<std::pair<QString, int>>& items, const QString& tip, QWidget* parent) {
    auto* c = new QComboBox(parent);
    c->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    for (const auto& [text, value] : items) c->addItem(text, value);
    c->setToolTip(tip);
    return c;
}

template <typename Enum>
Enum choice(const QComboBox* c) {
    return static_cast<Enum>(c->currentData().toInt());
}

template <typename Enum>
void choose(QComboBox* c, Enum value) {
    c->setCurrentIndex(c->findData(static_cast<int>(value)));
}

}  // namespace

MethodToolbar::MethodToolbar(QWidget* parent) : QToolBar(tr("Method"), parent) {
    setObjectName(QStringLiteral("methodToolbar"));
    setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    buildToggles();
    buildSettings();
    setSettings(settings_);
}

void MethodToolbar::buildToggles() {
    // Every toggle is one click (or one shortcut).
    full_ = toggle(tr("&Full Attention"), tr("Ctrl+1"), QStringLiteral("full"),
                   tr("Full causal attention over the whole context (Ctrl+1)"), this);
    parallel_ = toggle(tr("&Parallel Encoding"), tr("Ctrl+2"), QStringLiteral("parallel"),
                       tr("Each chunk encoded on its own; the query sees all chunks (Ctrl+2)"), this);
    sink_ = toggle(tr("Attention &Sink"), tr("Ctrl+3"), QStringLiteral("sink"),
                   tr("Share the prefix as an attention sink for every chunk (Ctrl+3)"), this);
    selective_ = toggle(tr("S&elective Attention"), tr("Ctrl+4"), QStringLiteral("selective"),
                        tr("Query tokens attend only to the top-K chunks (Ctrl+4)"), this);
    auto* modes = new QActionGroup(this);
    modes->addAction(full_);
    modes->addAction(parallel_);
    addAction(full_);
    addAction(parallel_);
    addSeparator();
    addAction(sink_);
    addAction(selective_);
    for (QAction* a : {full_, parallel_, sink_, selective_})
        connect(a, &QAction::triggered, this, &MethodToolbar::onControlChanged);
}

void MethodToolbar::buildSettings() {
    kSpin_ = new QSpinBox(this);
    kSpin_->setRange(1, 64);
    kSpin_->setPrefix(tr("K = "));
    kSpin_->setToolTip(tr("Selective attention keeps the top K chunks"));
    topNSpin_ = new QSpinBox(this);
    topNSpin_->setRange(0, 64);
    topNSpin_->setPrefix(tr("score top-"));
    topNSpin_->setSpecialValueText(tr("score: mean"));
    topNSpin_->setToolTip(tr("A chunk's score is the sum of its top-n attention probabilities (0: the mean)"));
    aggregationCombo_ = choiceCombo({{tr("per head & query"), int(SelectAggregation::None)},
                                     {tr("per layer"), int(SelectAggregation::HeadsQueries)}},
                                    tr("Select chunks per (head, query token), or once per layer for all heads and "
                                       "query tokens (the paper's RAG/ICL setting)"),
                                    this);
    positionsCombo_ = choiceCombo({{tr("positions: stretch"), int(PositionPolicy::Stretch)},
                                   {tr("positions: restart"), int(PositionPolicy::Restart)},
                                   {tr("positions: sequential"), int(PositionPolicy::Sequential)}},
                                  tr("Rotary position ids of chunk tokens in parallel mode"), this);
    windowCombo_ = choiceCombo(
        {{tr("window: by index"), int(WindowRule::Physical)}, {tr("window: by position"), int(WindowRule::Position)}},
        windowRuleToolTip(), this);
    bosCombo_ = choiceCombo({{tr("BOS: none"), int(BosPolicy::None)},
                             {tr("BOS: shared"), int(BosPolicy::Shared)},
                             {tr("BOS: per chunk"), int(BosPolicy::PerChunk)}},
                            tr("Beginning-of-sequence token: none, one at the very start, or one per chunk"), this);
    addWidget(kSpin_);
    addWidget(topNSpin_);
    addWidget(aggregationCombo_);
    addSeparator();
    addWidget(positionsCombo_);
    addWidget(windowCombo_);
    addWidget(bosCombo_);
    connect(kSpin_, &QSpinBox::valueChanged, this, &MethodToolbar::onControlChanged);
    connect(topNSpin_, &QSpinBox::valueChanged, this, &MethodToolbar::onControlChanged);
    for (QComboBox* c : {aggregationCombo_, positionsCombo_, windowCombo_, bosCombo_})
        connect(c, &QComboBox::currentIndexChanged, this, &MethodToolbar::onControlChanged);
}

void MethodToolbar::setSettings(const MethodSettings& m) {
    settings_ = m;
    syncing_ = true;
    full_->setChecked(m.mode == EncodingMode::Full);
    parallel_->setChecked(m.mode == EncodingMode::Parallel);
    sink_->setChecked(m.sink);
    selective_->setChecked(m.selective);
    kSpin_->setValue(m.selectK);
    topNSpin_->setValue(m.scoreTopN);
    choose(aggregationCombo_, m.aggregation);
    choose(positionsCombo_, m.positions);
    choose(windowCombo_, m.window);
    choose(bosCombo_, m.bos);
    positionsCombo_->setEnabled(m.mode == EncodingMode::Parallel);
    windowCombo_->setEnabled(m.mode == EncodingMode::Parallel);  // in full mode both rules agree
    for (QWidget* w : std::initializer_list<QWidget*>{kSpin_, topNSpin_, aggregationCombo_}) w->setEnabled(m.selective);
    syncing_ = false;
}

void MethodToolbar::onControlChanged() {
    if (syncing_) return;
    MethodSettings m = settings_;
    m.mode = full_->isChecked() ? EncodingMode::Full : EncodingMode::Parallel;
    m.sink = sink_->isChecked();
    m.selective = selective_->isChecked();
    m.selectK = kSpin_->value();
    m.scoreTopN = topNSpin_->value();
    m.aggregation = choice<SelectAggregation>(aggregationCombo_);
    m.positions = choice<PositionPolicy>(positionsCombo_);
    m.window = choice<WindowRule>(windowCombo_);
    m.bos = choice<BosPolicy>(bosCombo_);
    emit settingsChanged(m);
}

}  // namespace attnscope::gui
