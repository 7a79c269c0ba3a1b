// The app cannot lose work: the session is autosaved when it changed (and only then), a run that
// did not exit cleanly leaves a marker whose autosave the next start offers to restore (context,
// method toggles, layer and head come back), and a model load can be cancelled within half a
// second while the window keeps working with the model it had.
// Before any Qt header: the writers have a member named emit, a Qt macro.
#include "common/large_vocab_model.h"
#include "common/model_writers.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

#include "analysis_controller.h"
#include "app_test_util.h"
#include "autosave.h"
#include "context_editor.h"
#include "context_text.h"
#include "engine_worker.h"
#include "main_window.h"
#include "session_file.h"
#include "startup_options.h"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr int kTimeout = 120000;

// The id of a process that has exited (as a crashed run's would be).
qint64 finishedProcessId() {
    QProcess p;
    p.start(QStringLiteral("/bin/true"), {});
    if (!p.waitForStarted()) return -1;
    const qint64 pid = p.processId();
    p.waitForFinished();
    return pid;
}

}  // namespace

class RecoveryTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();

    void autosaveWritesOnlyAfterAChange();
    void autosaveTimerWritesChanges();
    void cleanExitLeavesNothingToRestore();
    void leftOverMarkerRestoresTheWork();
    void declinedRestoreIsDiscarded();
    void cancelledLoadKeepsTheSession();

private:
    std::unique_ptr<MainWindow> startInteractive();
    // A crashed run's files: its marker and an autosave holding `state`. Returns their paths.
    QStringList leaveCrashedRun(const SessionState& state);
    SessionState changedDemoState() const;
    ContextSpec demo_;
};

void RecoveryTest::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    QString error;
    auto demo = loadContextFile(apptest::demoContextPath(), &error);
    QVERIFY2(demo.has_value(), qPrintable(error));
    demo_ = *demo;
}

void RecoveryTest::init() {
    QDir(Autosave::defaultFolder()).removeRecursively();
    qunsetenv("ATTNSCOPE_RESTORE_AUTOSAVE");
}

void RecoveryTest::cleanup() { qunsetenv("ATTNSCOPE_RESTORE_AUTOSAVE"); }

std::unique_ptr<MainWindow> RecoveryTest::startInteractive() {
    auto w = std::make_unique<MainWindow>(MainWindow::Mode::Interactive);
    w->resize(1400, 900);
    w->show();
    QString error;
    if (!w->start(StartupOptions{}, &error)) qWarning("start: %s", qPrintable(error));
    return w;
}

SessionState RecoveryTest::changedDemoState() const {
    SessionState s;
    s.modelPath = apptest::demoModelPath();
    s.context = demo_;
    s.context.chunks.pop_back();
    s.context.query = "Lily found the red ball under the tree.";
    s.method.sink = false;
    s.method.selective = true;
    s.method.selectK = 2;
    s.selection.layer = 3;
    s.selection.head = 5;
    return s;
}

QStringList RecoveryTest::leaveCrashedRun(const SessionState& state) {
    const qint64 pid = finishedProcessId();
    Autosave paths({}, nullptr);
    QDir().mkpath(paths.folder());
    QString error;
    if (!saveSession(paths.sessionPath(pid), state, &error)) qWarning("%s", qPrintable(error));
    QFile marker(paths.markerPath(pid));
    if (marker.open(QIODevice::WriteOnly)) marker.write(QByteArray::number(pid) + '\n');
    marker.close();
    return {paths.sessionPath(pid), paths.markerPath(pid)};
}

void RecoveryTest::autosaveWritesOnlyAfterAChange() {
    auto w = startInteractive();
    QVERIFY(w->waitForSettled(kTimeout, true));
    Autosave* autosave = w->autosave();
    QVERIFY(autosave && autosave->running());
    QVERIFY(QFileInfo::exists(autosave->markerPath()));
    QVERIFY(!autosave->saveIfChanged());  // nothing changed since the start
    QVERIFY(!QFileInfo::exists(autosave->sessionPath()));

    w->contextEditor()->setQuery(QStringLiteral("A change worth keeping."));
    MethodSettings m = w->method();
    m.sink = !m.sink;
    w->setMethod(m);
    QVERIFY(w->waitForSettled(kTimeout));
    QVERIFY2(autosave->saveIfChanged(), qPrintable(autosave->lastError()));
    QCOMPARE(autosave->writes(), 1);
    QString error;
    const auto saved = loadSession(autosave->sessionPath(), &error);
    QVERIFY2(saved.has_value(), qPrintable(error));
    QCOMPARE(QString::fromStdString(saved->context.query), QStringLiteral("A change worth keeping."));
    QCOMPARE(saved->method.sink, m.sink);

    const QDateTime written = QFileInfo(autosave->sessionPath()).lastModified();
    QVERIFY(!autosave->saveIfChanged());  // unchanged since the last write
    QCOMPARE(autosave->writes(), 1);
    QCOMPARE(QFileInfo(autosave->sessionPath()).lastModified(), written);
}

void RecoveryTest::autosaveTimerWritesChanges() {
    QTemporaryDir dir;
    SessionState state;
    state.context = demo_;
    Autosave autosave([&state] { return state; }, nullptr, dir.path());
    autosave.start(50);
    QTest::qWait(200);
    QCOMPARE(autosave.writes(), 0);  // unchanged: the timer writes nothing
    state.context.query = "changed";
    QTRY_COMPARE(autosave.writes(), 1);
    QTest::qWait(200);
    QCOMPARE(autosave.writes(), 1);  // and once only
    autosave.finish();
    QVERIFY(!QFileInfo::exists(autosave.sessionPath()));
    QVERIFY(!QFileInfo::exists(autosave.markerPath()));
}

void RecoveryTest::cleanExitLeavesNothingToRestore() {
    QString marker, session;
    {
        auto w = startInteractive();
        QVERIFY(w->waitForSettled(kTimeout));
        w->contextEditor()->setQuery(QStringLiteral("Saved, then closed cleanly."));
        QVERIFY(w->waitForSettled(kTimeout));
        QVERIFY(w->autosave()->saveIfChanged());
        marker = w->autosave()->markerPath();
        session = w->autosave()->sessionPath();
        QVERIFY(QFileInfo::exists(session));
    }
    QVERIFY(!QFileInfo::exists(marker));
    QVERIFY(!QFileInfo::exists(session));
    QVERIFY(!Autosave({}, nullptr).findLeftOver().has_value());
}

void RecoveryTest::leftOverMarkerRestoresTheWork() {
    const SessionState crashed = changedDemoState();
    const QStringList leftOver = leaveCrashedRun(crashed);
    QVERIFY(Autosave({}, nullptr).findLeftOver().has_value());
    qputenv("ATTNSCOPE_RESTORE_AUTOSAVE", "yes");
    auto w = startInteractive();
    QVERIFY(w->waitForSettled(kTimeout, true));
    QVERIFY(sameContext(w->contextEditor()->context(), crashed.context));
    QVERIFY(sameContext(w->controller()->context(), crashed.context));
    QVERIFY(w->method() == crashed.method);
    QCOMPARE(w->controller()->selection().layer, 3);
    QCOMPARE(w->controller()->selection().head, 5);
    QCOMPARE(w->controller()->current()->plan.options.selective.topK, 2);
    QVERIFY(w->isDirty());  // restored work is unsaved work
    for (const QString& path : leftOver) QVERIFY2(!QFileInfo::exists(path), qPrintable(path));
    // The restored work is autosaved again at once, under this run.
    QString error;
    const auto mine = loadSession(w->autosave()->sessionPath(), &error);
    QVERIFY2(mine.has_value(), qPrintable(error));
    QVERIFY(sameContext(mine->context, crashed.context));
}

void RecoveryTest::declinedRestoreIsDiscarded() {
    const QStringList leftOver = leaveCrashedRun(changedDemoState());
    qputenv("ATTNSCOPE_RESTORE_AUTOSAVE", "no");
    auto w = startInteractive();
    QVERIFY(w->waitForSettled(kTimeout));
    QVERIFY(sameContext(w->contextEditor()->context(), demo_));
    QVERIFY(!w->isDirty());
    for (const QString& path : leftOver) QVERIFY2(!QFileInfo::exists(path), qPrintable(path));
}

// A load is cancelled as soon as it started (a model whose 262,144-piece vocabulary takes about
// half a second to open); the window goes on with the model it had.
void RecoveryTest::cancelledLoadKeepsTheSession() {
    QTemporaryDir dir;
    const QString slow = dir.filePath(QStringLiteral("large-vocab.gguf"));
    QVERIFY(test::writeLargeVocabGguf(slow.toStdString()).ok());

    MainWindow w(MainWindow::Mode::Headless);
    w.resize(1400, 900);
    w.show();
    QVERIFY(w.start(StartupOptions{}));
    QVERIFY(w.waitForSettled(kTimeout, true));
    AnalysisController* c = w.controller();
    const BundlePtr before = c->current();
    QElapsedTimer sinceCancel;
    QSignalSpy finished(c->worker(), &EngineWorker::jobFinished);
    QSignalSpy cancelled(c, &AnalysisController::modelLoadCancelled);
    QSignalSpy loaded(c, &AnalysisController::modelLoaded);
    connect(c->worker(), &EngineWorker::jobStarted, &w, [&](int tag) {
        if (tag != static_cast<int>(JobTag::Model) || sinceCancel.isValid()) return;
        sinceCancel.start();
        c->cancelModelLoad();
    });
    w.openModel(slow);
    QVERIFY(c->modelLoading());
    QTRY_VERIFY_WITH_TIMEOUT(sinceCancel.isValid() && !finished.isEmpty() &&
                                 finished.back().at(0).toInt() == static_cast<int>(JobTag::Model),
                             kTimeout);
    const qint64 ms = sinceCancel.elapsed();
    qInfo("model load cancelled: the load job ended %lld ms after the cancel", static_cast<long long>(ms));
    QVERIFY2(ms < 500, qPrintable(QString::number(ms)));
    QCOMPARE(cancelled.size(), 1);
    QVERIFY(!c->modelLoading());
    QTest::qWait(100);  // nothing arrives late
    QCOMPARE(loaded.size(), 0);
    QCOMPARE(QFileInfo(c->model().path).fileName(), QStringLiteral("stories260K.gguf"));
    QCOMPARE(c->current(), before);
    // Still usable: a toggle is analysed by the model we had.
    w.sinkAction()->trigger();
    QVERIFY(w.waitForSettled(kTimeout));
    QVERIFY(c->current() && c->current() != before);
    QCOMPARE(c->current()->sessionId, before->sessionId);
}

QTEST_MAIN(RecoveryTest)
#include "test_recovery.moc"
