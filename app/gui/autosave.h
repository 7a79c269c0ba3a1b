#pragma once
// Autosave: the window's session is written every minute, when it changed, to the user's state
// folder (QStandardPaths::AppLocalDataLocation, "autosave"), atomically (saveSession, QSaveFile).
// While the app runs, a marker file names its process; a clean exit removes the marker and the
// autosave. A marker left by a process that is gone means that process did not exit cleanly (a
// crash, a kill): its autosaved session is offered for restoring on the next start.
//
// Files, per process: attnscope-PID.running (the marker) and attnscope-PID.attnscope.json.
#include <QDateTime>
#include <QObject>
#include <QString>
#include <QTimer>

#include <functional>
#include <optional>

#include "app_state.h"

class QWidget;

namespace attnscope::gui {

class Autosave : public QObject {
    Q_OBJECT
public:
    static constexpr int kIntervalMs = 60000;

    // `state` is what a session file saves; `folder` defaults to the user's state folder.
    explicit Autosave(std::function<SessionState()> state, QObject* parent = nullptr, QString folder = {});
    ~Autosave() override;
    static QString defaultFolder();

    // Writes this process's marker and starts the timer. What is shown now is the baseline:
    // nothing is written until it changes.
    void start(int intervalMs = kIntervalMs);
    bool running() const { return started_; }
    // Writes the session when it differs from the last one written (or the baseline). True when
    // it wrote; false when nothing changed or the write failed (lastError() says why).
    bool saveIfChanged();
    // Writes the session now, changed or not (e.g. right after restoring one).
    bool save();
    // A clean exit: removes this process's marker and autosave.
    void finish();

    QString folder() const { return folder_; }
    // The files of the process `pid` (by default this one).
    QString sessionPath(qint64 pid = 0) const;
    QString markerPath(qint64 pid = 0) const;
    int writes() const { return writes_; }
    QString lastError() const { return lastError_; }

    // The autosave of a process that ended without finish(): the newest when there are several.
    struct LeftOver {
        QString sessionPath;
        QString markerPath;
        QDateTime savedAt;
    };
    std::optional<LeftOver> findLeftOver() const;
    // Removes a left-over once it was restored or declined.
    static void discard(const LeftOver& leftOver);

private:
    QString pathFor(qint64 pid, const QString& suffix) const;  // pid 0: this process
    static QByteArray workOf(SessionState state);              // the state as compared for changes
    bool write(bool always);

    std::function<SessionState()> state_;
    QString folder_;
    QTimer timer_;
    QByteArray lastWork_;  // the work last written, or the baseline
    bool started_ = false;
    int writes_ = 0;
    QString lastError_;
};

// Asks whether to restore `state`, autosaved by a run that did not exit cleanly: a dialog over
// `parent`, unless $ATTNSCOPE_RESTORE_AUTOSAVE answers it ("yes" or "no": tests, scripted starts).
bool askRestore(QWidget* parent, const Autosave::LeftOver& leftOver, const SessionState& state);

}  // namespace attnscope::gui
