#pragma once
// JobStatusBar: the window's status bar. On the right, a summary of the current result (mean
// query entropy, perplexity, tokens, chunks) and the open model; in between, the engine's jobs:
// a job running longer than 300 ms shows a progress bar (the most interactive job first) and,
// where it can be stopped, a cancel button. Messages (opened, failed, saved) on the left.
#include <QElapsedTimer>
#include <QList>
#include <QStatusBar>
#include <QTimer>

class QLabel;
class QProgressBar;
class QToolButton;

namespace attnscope::gui {

class AnalysisController;

class JobStatusBar : public QStatusBar {
    Q_OBJECT
public:
    // Follows `controller` (its model, results and sweep) and the jobs of its worker.
    explicit JobStatusBar(AnalysisController* controller, QWidget* parent = nullptr);

private:
    void onModelLoaded();
    void onModelFailed(const QString& path, const QString& message);
    void showModel();
    void onCurrentChanged();
    void onJobStarted(int tag, quint64 generation, const QString& label);
    void onJobProgress(int tag, quint64 generation, int done, int total);
    void onJobFinished(int tag, quint64 generation);
    void cancelShownJob();
    void updateProgress();

    AnalysisController* controller_;
    QLabel* resultLabel_ = nullptr;
    QLabel* modelLabel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QToolButton* cancelButton_ = nullptr;
    QTimer progressDelay_;
    struct RunningJob {
        int tag;
        quint64 generation;
        QString label;
        qint64 startedMs;
        int done = 0, total = 0;
    };
    QList<RunningJob> running_;
    int shownTag_ = -1;  // the job whose progress (and cancel button) is shown; -1 when none
    QElapsedTimer clock_;
};

}  // namespace attnscope::gui
