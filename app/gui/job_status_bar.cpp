#include "job_status_bar.h"

#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QToolButton>

#include <algorithm>
#include <cmath>

#include "analysis_controller.h"
#include "engine_worker.h"
#include "ui_helpers.h"

namespace attnscope::gui {

namespace {
constexpr int kProgressDelayMs = 300;  // quick jobs never flash a progress bar
}

JobStatusBar::JobStatusBar(AnalysisController* controller, QWidget* parent)
    : QStatusBar(parent), controller_(controller) {
    clock_.start();
    resultLabel_ = new QLabel(this);
    modelLabel_ = new QLabel(this);
    modelLabel_->setForegroundRole(QPalette::PlaceholderText);
    // The labels never set the window's width: a narrow window (a projector at 1280×720 in
    // presentation mode) shortens them instead.
    for (QLabel* label : {resultLabel_, modelLabel_}) label->setMinimumWidth(1);
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("jobProgress"));
    progress_->setMaximumWidth(180);
    progress_->setMaximumHeight(16);
    progress_->setTextVisible(false);
    progress_->hide();
    cancelButton_ = new QToolButton(this);
    cancelButton_->setObjectName(QStringLiteral("jobCancel"));
    cancelButton_->setIcon(appIcon(QStringLiteral("cancel")));
    cancelButton_->setToolTip(tr("Cancel (Esc)"));
    cancelButton_->setAutoRaise(true);
    cancelButton_->hide();
    addPermanentWidget(resultLabel_);
    addPermanentWidget(progress_);
    addPermanentWidget(cancelButton_);
    addPermanentWidget(modelLabel_);
    progressDelay_.setSingleShot(true);
    progressDelay_.setInterval(kProgressDelayMs);
    connect(&progressDelay_, &QTimer::timeout, this, &JobStatusBar::updateProgress);
    connect(cancelButton_, &QToolButton::clicked, this, &JobStatusBar::cancelShownJob);

    connect(controller_, &AnalysisController::modelLoadStarted, this,
            [this](const QString& path) { modelLabel_->setText(tr("Loading %1…").arg(QFileInfo(path).fileName())); });
    connect(controller_, &AnalysisController::modelLoaded, this, &JobStatusBar::onModelLoaded);
    connect(controller_, &AnalysisController::modelFailed, this, &JobStatusBar::onModelFailed);
    connect(controller_, &AnalysisController::modelLoadCancelled, this, [this](const QString& path) {
        if (controller_->hasModel()) showModel();
        else modelLabel_->setText(tr("No model"));
        showMessage(tr("Loading %1 was cancelled").arg(QFileInfo(path).fileName()), 6000);
    });
    connect(controller_, &AnalysisController::currentChanged, this, &JobStatusBar::onCurrentChanged);
    connect(controller_, &AnalysisController::sweepFailed, this,
            [this](const QString& message) { showMessage(tr("P sweep: %1").arg(message), 10000); });
    EngineWorker* worker = controller_->worker();
    connect(worker, &EngineWorker::jobStarted, this, &JobStatusBar::onJobStarted);
    connect(worker, &EngineWorker::jobProgress, this, &JobStatusBar::onJobProgress);
    connect(worker, &EngineWorker::jobFinished, this, &JobStatusBar::onJobFinished);
}

// ---------------------------------------------------------------- model and result

void JobStatusBar::showModel() {
    const ModelInfo& info = controller_->model();
    modelLabel_->setText(
        QStringLiteral("%1 · %2 · %3").arg(QFileInfo(info.path).fileName(), info.summary, info.backend));
}

void JobStatusBar::onModelLoaded() {
    const ModelInfo& info = controller_->model();
    showModel();
    QString tip = tr("%1\n%2 parameters, %3").arg(info.path).arg(info.parameters).arg(info.format);
    for (const QString& n : info.notices) tip += QLatin1Char('\n') + n;
    if (info.localLayers.contains(true)) {
        const int local = static_cast<int>(info.localLayers.count(true));
        tip += tr("\n%1 of %2 layers use sliding-window (local) attention; shaded in the entropy-by-layer view")
                   .arg(local)
                   .arg(info.layers);
    }
    modelLabel_->setToolTip(tip);
    showMessage(tr("Opened %1").arg(QFileInfo(info.path).fileName()), 4000);
}

void JobStatusBar::onModelFailed(const QString& path, const QString& message) {
    if (!controller_->hasModel()) {
        modelLabel_->setText(tr("No model"));
        return;
    }
    showModel();  // the model we had stays open
    showMessage(tr("Could not open %1: %2").arg(QFileInfo(path).fileName(), message), 10000);
}

void JobStatusBar::onCurrentChanged() {
    BundlePtr b = controller_->current();
    if (!b) {
        const QString err = controller_->currentError();
        if (!err.isEmpty()) {
            resultLabel_->setText(tr("no result"));
            showMessage(err, 10000);
        }
        return;
    }
    const AnalysisResult& r = b->stats();
    const double ppl = r.perplexity();
    QString text = tr("mean query entropy %1 nats").arg(r.meanQueryEntropy(), 0, 'f', 3);
    if (std::isfinite(ppl)) text += tr(" · PPL %1").arg(ppl, 0, 'f', 2);
    text += tr(" · %1 tokens · %2 chunks").arg(r.tokens).arg(r.chunks);
    const bool slidingWindow = controller_->model().slidingWindow;
    if (slidingWindow) text += QStringLiteral(" · ") + QString::fromLatin1(windowRuleLabel(b->plan.options.window));
    resultLabel_->setText(text);
    resultLabel_->setToolTip(tr("%1\ncomputed in %2 ms on %3%4")
                                 .arg(methodLabel(controller_->method(), slidingWindow))
                                 .arg(r.elapsedMs, 0, 'f', 1)
                                 .arg(QString::fromStdString(r.backend))
                                 .arg(r.reusedContext ? tr(" (context reused)") : QString()));
}

// ---------------------------------------------------------------- jobs

void JobStatusBar::onJobStarted(int tag, quint64 generation, const QString& label) {
    running_.append(RunningJob{tag, generation, label, clock_.elapsed()});
    if (!progressDelay_.isActive()) progressDelay_.start();
}

void JobStatusBar::onJobProgress(int tag, quint64 generation, int done, int total) {
    for (RunningJob& j : running_)
        if (j.tag == tag && j.generation == generation) {
            j.done = done;
            j.total = total;
        }
    if (progress_->isVisible()) updateProgress();
}

void JobStatusBar::onJobFinished(int tag, quint64 generation) {
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [&](const RunningJob& j) { return j.tag == tag && j.generation == generation; }),
                   running_.end());
    updateProgress();
}

void JobStatusBar::cancelShownJob() {
    if (shownTag_ < 0) return;
    const auto tag = static_cast<JobTag>(shownTag_);
    if (tag == JobTag::Model) controller_->cancelModelLoad();
    else if (tag == JobTag::Sweep) controller_->cancelSweep();
    else controller_->worker()->cancel(tag);
}

void JobStatusBar::updateProgress() {
    const qint64 now = clock_.elapsed();
    const RunningJob* shown = nullptr;
    qint64 youngest = -1;
    for (const RunningJob& j : running_) {
        if (now - j.startedMs >= kProgressDelayMs) {
            if (!shown || j.tag < shown->tag) shown = &j;  // the most interactive first
        } else {
            youngest = std::max(youngest, j.startedMs);
        }
    }
    shownTag_ = shown ? shown->tag : -1;
    if (!shown) {
        if (progress_->isVisible()) clearMessage();
        progress_->hide();
        cancelButton_->hide();
        if (youngest >= 0)
            progressDelay_.start(static_cast<int>(std::max<qint64>(10, kProgressDelayMs - (now - youngest))));
        return;
    }
    if (shown->total > 0) {
        progress_->setRange(0, shown->total);
        progress_->setValue(shown->done);
    } else {
        progress_->setRange(0, 0);  // busy
    }
    progress_->show();
    const auto tag = static_cast<JobTag>(shown->tag);
    cancelButton_->setVisible(tag == JobTag::Model || tag == JobTag::Sweep || tag == JobTag::Analysis ||
                              tag == JobTag::Methods);
    showMessage(shown->label + QStringLiteral("…"));
}

}  // namespace attnscope::gui
