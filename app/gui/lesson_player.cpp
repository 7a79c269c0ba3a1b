#include "lesson_player.h"

#include <QApplication>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis_controller.h"
#include "analysis_views.h"
#include "context_view.h"
#include "main_window.h"

namespace attnscope::gui {

namespace {

QString nats(double v) { return std::isfinite(v) ? QString::number(v, 'f', 2) : QString(); }

// Entropy of the chunks' first tokens and of their other tokens (layer, mean of heads).
void addChunkStartValues(const AnalysisResult& r, const EncodingPlan& plan, int layer,
                         QHash<QString, QString>& values) {
    double start = 0, body = 0;
    int starts = 0, bodies = 0;
    for (int c = 0; c < plan.chunkCount(); ++c) {
        const KeyRange range = plan.chunkRanges[static_cast<std::size_t>(c)];
        for (int t = range.begin; t < range.end; ++t)
            (t == range.begin ? (++starts, start) : (++bodies, body)) += r.headMeanEntropy(layer, t);
    }
    if (starts > 0) values[QStringLiteral("chunk_start_entropy")] = nats(start / starts);
    if (bodies > 0) values[QStringLiteral("chunk_body_entropy")] = nats(body / bodies);
}

// The chunks selective attention keeps most often at the selected layer ("2 and 4").
void addKeptChunks(const AnalysisResult& r, int layer, int k, QHash<QString, QString>& values) {
    if (r.chunks <= 0 || r.queries() <= 0 || r.selected.empty()) return;
    QVector<int> count(r.chunks, 0);
    for (int h = 0; h < r.heads; ++h)
        for (int q = 0; q < r.queries(); ++q)
            for (int c = 0; c < r.chunks; ++c) count[c] += r.selectedAt(layer, h, q, c) ? 1 : 0;
    QVector<int> order(r.chunks);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return count[a] > count[b]; });
    QStringList kept;
    for (int i = 0; i < std::min(k, r.chunks); ++i) kept << QString::number(order[i] + 1);
    std::sort(kept.begin(), kept.end(), [](const QString& a, const QString& b) { return a.toInt() < b.toInt(); });
    values[QStringLiteral("kept_chunks")] =
        kept.size() > 1
            ? QStringList(kept.mid(0, kept.size() - 1)).join(QStringLiteral(", ")) + QObject::tr(" and ") + kept.back()
            : kept.value(0);
}

void addSweepValues(const std::vector<SweepRow>& rows, QHash<QString, QString>& values) {
    int maxP = 0;
    for (const SweepRow& row : rows) maxP = std::max(maxP, row.parts);
    if (maxP == 0) return;
    values[QStringLiteral("sweep_max_p")] = QString::number(maxP);
    for (const SweepRow& row : rows) {
        if (row.method == Method::Full) values[QStringLiteral("sweep_full_entropy")] = nats(row.meanEntropy);
        if (row.method == Method::Parallel && row.parts == maxP)
            values[QStringLiteral("sweep_parallel_entropy")] = nats(row.meanEntropy);
    }
}

}  // namespace

QHash<QString, QString> captionValuesOf(const AnalysisController& c) {
    QHash<QString, QString> v;
    const MethodSettings& m = c.method();
    v[QStringLiteral("method")] = methodLabel(m);
    v[QStringLiteral("k")] = QString::number(m.selectK);
    v[QStringLiteral("layer")] = QString::number(c.selection().layer);
    if (BundlePtr b = c.current()) {
        const AnalysisResult& r = b->stats();
        v[QStringLiteral("tokens")] = QString::number(b->plan.tokenCount());
        v[QStringLiteral("chunks")] = QString::number(b->plan.chunkCount());
        v[QStringLiteral("query_entropy")] = nats(r.meanQueryEntropy());
        v[QStringLiteral("perplexity")] = nats(r.perplexity());
        const int layer = std::clamp(c.selection().layer, 0, std::max(0, r.layers - 1));
        v[QStringLiteral("layer_entropy")] = nats(r.layerQueryEntropy(layer));
        addChunkStartValues(r, b->plan, layer, v);
        addKeptChunks(r, layer, m.selectK, v);
    }
    for (Method method : kMethods)
        if (BundlePtr b = c.methodBundle(method)) {
            const QString name = QString::fromLatin1(toString(method));
            v[name + QStringLiteral("_entropy")] = nats(b->stats().meanQueryEntropy());
            v[name + QStringLiteral("_perplexity")] = nats(b->stats().perplexity());
        }
    BundlePtr full = c.methodBundle(Method::Full), parallel = c.methodBundle(Method::Parallel);
    if (full && parallel)
        v[QStringLiteral("entropy_rise")] =
            nats(parallel->stats().meanQueryEntropy() - full->stats().meanQueryEntropy());
    addSweepValues(c.sweepRows(), v);
    for (auto it = v.begin(); it != v.end();) it = it->isEmpty() ? v.erase(it) : std::next(it);
    return v;
}

LessonPlayer::LessonPlayer(MainWindow* window) : QObject(window), window_(window) {
    buildBar();
    AnalysisController* c = window_->controller();
    for (auto signal : {&AnalysisController::currentChanged, &AnalysisController::methodsChanged,
                        &AnalysisController::sweepChanged, &AnalysisController::selectionChanged})
        connect(c, signal, this, &LessonPlayer::refreshCaption);
}

void LessonPlayer::buildBar() {
    bar_ = new QWidget;
    bar_->setObjectName(QStringLiteral("lessonBar"));
    bar_->setAutoFillBackground(true);
    auto* row = new QHBoxLayout(bar_);
    row->setContentsMargins(12, 6, 12, 8);
    prevButton_ = new QToolButton;
    prevButton_->setText(QStringLiteral("◀"));
    prevButton_->setToolTip(tr("Previous step (Left, PageUp)"));
    nextButton_ = new QToolButton;
    nextButton_->setText(QStringLiteral("▶"));
    nextButton_->setToolTip(tr("Next step (Right, PageDown, Space)"));
    stepLabel_ = new QLabel;
    captionLabel_ = new QLabel;
    captionLabel_->setObjectName(QStringLiteral("lessonCaption"));
    captionLabel_->setWordWrap(true);
    methodLabel_ = new QLabel;
    methodLabel_->setForegroundRole(QPalette::PlaceholderText);
    auto* text = new QVBoxLayout;
    text->addWidget(captionLabel_);
    text->addWidget(methodLabel_);
    row->addWidget(prevButton_);
    row->addWidget(stepLabel_);
    row->addLayout(text, 1);
    row->addWidget(nextButton_);
    bar_->hide();
    connect(prevButton_, &QToolButton::clicked, this, &LessonPlayer::previous);
    connect(nextButton_, &QToolButton::clicked, this, &LessonPlayer::next);
}

void LessonPlayer::start(const Lesson& lesson, const QString& path) {
    lesson_ = lesson;
    path_ = path;
    index_ = -1;
    if (!active_) qApp->installEventFilter(this);
    active_ = true;
    QFont big = QApplication::font();  // large: the presentation font and more
    big.setPointSizeF(big.pointSizeF() * 1.5);
    captionLabel_->setFont(big);
    bar_->show();
    go(0);
}

void LessonPlayer::stop() {
    if (!active_) return;
    active_ = false;
    qApp->removeEventFilter(this);
    bar_->hide();
}

void LessonPlayer::go(int index) {
    if (!active_ || lesson_.steps.isEmpty()) return;
    index = std::clamp(index, 0, static_cast<int>(lesson_.steps.size()) - 1);
    if (index == index_) return;
    index_ = index;
    applyStep(lesson_.steps[index]);
    stepLabel_->setText(tr("%1 / %2").arg(index + 1).arg(lesson_.steps.size()));
    prevButton_->setEnabled(index > 0);
    nextButton_->setEnabled(index + 1 < lesson_.steps.size());
    refreshCaption();
    emit stepChanged(index);
}

// The step's state through the routes a click takes: the context editor's, the method toolbar's
// and the selection toolbar's; then its view, enlarged, and its highlight.
void LessonPlayer::applyStep(const LessonStep& step) {
    AnalysisController* c = window_->controller();
    if (!sameContext(c->context(), step.context)) window_->setContext(step.context);
    window_->setMethod(step.method);
    ViewSelection s = c->selection();
    s.layer = step.layer;
    s.head = step.head;
    s.queryToken = step.highlightQuery;
    window_->setSelection(s);
    window_->contextView()->setHighlightedChunk(step.highlightChunk);
    window_->enlargeView(step.view);
    if (step.view == panels::kPSweep && c->sweepRows().empty() && !c->sweepRunning() && c->hasModel())
        c->runSweep(window_->sessionState().sweep);
}

QString LessonPlayer::caption() const {
    if (!active_ || index_ < 0) return {};
    return fillCaption(lesson_.steps[index_].caption, captionValues());
}

QHash<QString, QString> LessonPlayer::captionValues() const { return captionValuesOf(*window_->controller()); }

void LessonPlayer::refreshCaption() {
    if (!active_ || index_ < 0) return;
    captionLabel_->setText(caption());
    methodLabel_->setText(tr("%1 · layer %2 · %3")
                              .arg(methodLabel(window_->method()))
                              .arg(window_->controller()->selection().layer)
                              .arg(window_->controller()->selection().head >= 0
                                       ? tr("head %1").arg(window_->controller()->selection().head)
                                       : tr("mean of heads")));
}

LessonStep LessonPlayer::captureStep(const QString& caption) const {
    const AnalysisController* c = window_->controller();
    LessonStep step;
    step.context = c->context();
    step.method = c->method();
    step.layer = c->selection().layer;
    step.head = c->selection().head;
    step.highlightQuery = c->selection().queryToken;
    step.highlightChunk = window_->contextView()->highlightedChunk();
    step.view = window_->enlargedView().isEmpty() ? window_->currentViewKey() : window_->enlargedView();
    if (!lessonViews().contains(step.view)) step.view = panels::kAttentionMap;
    step.caption = caption.trimmed();
    return step;
}

bool LessonPlayer::appendStep(const QString& path, const QString& caption, QString* error) {
    Lesson lesson = active_ ? lesson_ : Lesson{};
    if (!active_ && QFileInfo::exists(path)) {
        auto existing = loadLesson(path, error);
        if (!existing) return false;
        lesson = *existing;
    }
    if (QFileInfo(path).absolutePath() != QFileInfo(path_).absolutePath()) {
        lesson.contextRef.clear();  // context files are relative to the lesson: elsewhere, write them out
        for (LessonStep& s : lesson.steps) s.contextRef.clear();
    }
    LessonStep step = captureStep(caption);
    if (lesson.steps.isEmpty() && chunkCountOf(lesson.context) == 0)
        lesson.context = step.context;  // the first step's context is the lesson's
    step.ownContext = !sameContext(step.context, lesson.context);
    lesson.steps << step;
    if (!saveLesson(path, lesson, error)) return false;
    if (active_) lesson_ = lesson;
    return true;
}

bool LessonPlayer::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() != QEvent::KeyPress) return QObject::eventFilter(watched, event);
    auto* widget = qobject_cast<QWidget*>(watched);
    QWidget* focus = QApplication::focusWidget();
    const bool typing = focus && (focus->inherits("QLineEdit") || focus->inherits("QAbstractSpinBox") ||
                                  focus->inherits("QTextEdit") || focus->inherits("QPlainTextEdit"));
    if (!widget || widget->window() != window_ || typing) return QObject::eventFilter(watched, event);
    switch (static_cast<QKeyEvent*>(event)->key()) {
        case Qt::Key_Right:
        case Qt::Key_Down:
        case Qt::Key_PageDown:
        case Qt::Key_Space: next(); return true;
        case Qt::Key_Left:
        case Qt::Key_Up:
        case Qt::Key_PageUp: previous(); return true;
        default: return QObject::eventFilter(watched, event);
    }
}

}  // namespace attnscope::gui
