#include "autosave.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QStandardPaths>

#include <cerrno>
#include <csignal>

#include "session_document.h"
#include "session_file.h"

namespace attnscope::gui {

namespace {

const QString kMarkerSuffix = QStringLiteral(".running");

// True while a process with this id exists (also when it belongs to another user).
bool processAlive(qint64 pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

Autosave::Autosave(std::function<SessionState()> state, QObject* parent, QString folder)
    : QObject(parent), state_(std::move(state)), folder_(folder.isEmpty() ? defaultFolder() : std::move(folder)) {
    timer_.setTimerType(Qt::VeryCoarseTimer);
    connect(&timer_, &QTimer::timeout, this, [this] { saveIfChanged(); });
}

Autosave::~Autosave() = default;

QString Autosave::defaultFolder() {
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation))
        .filePath(QStringLiteral("autosave"));
}

QString Autosave::pathFor(qint64 pid, const QString& suffix) const {
    if (pid == 0) pid = QCoreApplication::applicationPid();
    return QDir(folder_).filePath(QStringLiteral("attnscope-%1%2").arg(pid).arg(suffix));
}

QString Autosave::sessionPath(qint64 pid) const { return pathFor(pid, kSessionSuffix); }
QString Autosave::markerPath(qint64 pid) const { return pathFor(pid, kMarkerSuffix); }

// What counts as a change: everything but where the window and its docks sit (saved, but moving
// a window is no work to lose).
QByteArray Autosave::workOf(SessionState state) {
    state.windowGeometry.clear();
    state.windowState.clear();
    return QJsonDocument(sessionToJson(state)).toJson(QJsonDocument::Compact);
}

void Autosave::start(int intervalMs) {
    lastWork_ = workOf(state_());
    if (!QDir().mkpath(folder_)) {
        lastError_ = tr("%1: cannot create the autosave folder").arg(folder_);
        return;
    }
    QFile marker(markerPath());
    if (!marker.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        lastError_ = tr("%1: cannot write (%2)").arg(marker.fileName(), marker.errorString());
        return;
    }
    marker.write(QByteArray::number(QCoreApplication::applicationPid()) + '\n');
    marker.close();
    started_ = true;
    timer_.start(intervalMs);
}

bool Autosave::saveIfChanged() { return write(false); }
bool Autosave::save() { return write(true); }

bool Autosave::write(bool always) {
    if (!started_) return false;
    const SessionState state = state_();
    QByteArray work = workOf(state);
    if (!always && work == lastWork_) return false;
    QString error;
    if (!saveSession(sessionPath(), state, &error)) {
        lastError_ = error;
        return false;
    }
    lastWork_ = std::move(work);
    ++writes_;
    return true;
}

void Autosave::finish() {
    if (!started_) return;
    timer_.stop();
    QFile::remove(sessionPath());
    QFile::remove(markerPath());
    started_ = false;
}

std::optional<Autosave::LeftOver> Autosave::findLeftOver() const {
    static const QRegularExpression name(QStringLiteral("^attnscope-(\\d+)\\.running$"));
    std::optional<LeftOver> newest;
    const QDir dir(folder_);
    for (const QString& file : dir.entryList({QStringLiteral("attnscope-*.running")}, QDir::Files)) {
        const auto m = name.match(file);
        const qint64 pid = m.hasMatch() ? m.captured(1).toLongLong() : 0;
        if (pid <= 0 || processAlive(pid)) continue;  // this process, too, is alive
        const QFileInfo session(pathFor(pid, kSessionSuffix));
        const QString marker = dir.filePath(file);
        if (!session.exists()) {  // it ended before anything changed: nothing to restore
            QFile::remove(marker);
            continue;
        }
        if (!newest || session.lastModified() > newest->savedAt)
            newest = LeftOver{session.filePath(), marker, session.lastModified()};
    }
    return newest;
}

void Autosave::discard(const LeftOver& leftOver) {
    QFile::remove(leftOver.sessionPath);
    QFile::remove(leftOver.markerPath);
}

bool askRestore(QWidget* parent, const Autosave::LeftOver& leftOver, const SessionState& state) {
    const QByteArray answer = qgetenv("ATTNSCOPE_RESTORE_AUTOSAVE").toLower();
    if (answer == "yes" || answer == "no") return answer == "yes";
    const QString model = state.modelPath.isEmpty() ? QObject::tr("no model") : QFileInfo(state.modelPath).fileName();
    QMessageBox box(QMessageBox::Question, QObject::tr("Restore Unsaved Work?"),
                    QObject::tr("attnscope did not close properly last time. Restore the work autosaved at %1?")
                        .arg(QLocale().toString(leftOver.savedAt, QLocale::ShortFormat)),
                    QMessageBox::NoButton, parent);
    box.setInformativeText(QObject::tr("Model %1, %2 chunks, query “%3”.\nAutosave: %4")
                               .arg(model)
                               .arg(state.context.chunks.size())
                               .arg(QString::fromStdString(state.context.query).left(60), leftOver.sessionPath));
    QPushButton* restore = box.addButton(QObject::tr("Restore"), QMessageBox::AcceptRole);
    box.addButton(QObject::tr("Discard"), QMessageBox::DestructiveRole);
    box.setDefaultButton(restore);
    box.exec();
    return box.clickedButton() == restore;
}

}  // namespace attnscope::gui
