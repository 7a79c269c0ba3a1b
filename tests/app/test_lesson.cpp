// Lessons: the file format (the bundled lesson loads; bad files are refused naming the file and
// the reason), captions (placeholders filled, no number written in the bundled lesson), each
// step applied exactly in the window, the clicker's keys, authoring a step, and the handout (one
// PDF page per step) from the command line.
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

#include "analysis_controller.h"
#include "analysis_views.h"
#include "app_test_util.h"
#include "context_view.h"
#include "lesson.h"
#include "lesson_player.h"
#include "main_window.h"
#include "startup_options.h"
#include "view_panel.h"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr int kTimeout = 120000;
const QString kBundled = QStringLiteral(":/demo/lessons/parallel-encoding.json");

// A one-step lesson around `step` (JSON text of the step object).
QByteArray lessonWith(const QByteArray& step) {
    return R"({"format": "attnscope-lesson", "version": 1, "title": "t",
               "context": {"chunks": ["a b c", "d e f"], "query": "g h"}, "steps": [)" +
           step + "]}";
}

const QByteArray kGoodStep =
    R"({"method": {"mode": "parallel", "sink": false}, "view": "attention_map", "caption": "One sentence."})";

}  // namespace

class LessonTest : public QObject {
    Q_OBJECT
private slots:
    void bundledLessonLoads();
    void bundledCaptionsWriteNoNumbers();
    void badFilesAreRefusedWithTheReason_data();
    void badFilesAreRefusedWithTheReason();
    void roundTripKeepsEveryField();
    void captionsAreFilled();
    void eachStepIsAppliedExactly();
    void clickerKeysMoveBetweenSteps();
    void savedStepHoldsThePresentState();
    void handoutHasOnePagePerStep();
    void badLessonOnTheCommandLineExitsTwo();

private:
    std::unique_ptr<MainWindow> openLessonWindow();
};

void LessonTest::bundledLessonLoads() {
    QString error;
    const auto lesson = loadLesson(kBundled, &error);
    QVERIFY2(lesson, qPrintable(error));
    QVERIFY(lesson->steps.size() >= 8 && lesson->steps.size() <= 12);
    QVERIFY(chunkCountOf(lesson->context) == 5);  // the demo context
    QStringList views;
    for (const LessonStep& s : lesson->steps) views << s.view;
    for (const QString& v : {panels::kAttentionMap, panels::kEntropyByLayer, panels::kEntropySequence, panels::kPSweep,
                             panels::kContextText})
        QVERIFY2(views.contains(v), qPrintable(v));
    // The paper's story: full attention first, then parallel, the sink, selection, both.
    QCOMPARE(methodOf(lesson->steps.front().method), Method::Full);
    QCOMPARE(methodOf(lesson->steps[1].method), Method::Parallel);
    QVERIFY(std::any_of(lesson->steps.begin(), lesson->steps.end(),
                        [](const LessonStep& s) { return methodOf(s.method) == Method::Both; }));
}

void LessonTest::bundledCaptionsWriteNoNumbers() {
    const auto lesson = loadLesson(kBundled, nullptr);
    QVERIFY(lesson);
    static const QRegularExpression placeholder(QStringLiteral("\\{[a-z_]+\\}"));
    for (const LessonStep& s : lesson->steps) {
        QString text = s.caption;
        text.remove(placeholder);
        QVERIFY2(!text.contains(QRegularExpression(QStringLiteral("\\d"))), qPrintable(s.caption));
        QVERIFY(sentenceCount(s.caption) >= 1 && sentenceCount(s.caption) <= 3);
    }
}

void LessonTest::badFilesAreRefusedWithTheReason_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("reason");
    QTest::newRow("not json") << QByteArray("{\"format\": ") << QStringLiteral("at byte");
    QTest::newRow("not a lesson") << QByteArray(R"({"steps": []})") << QStringLiteral("not an attnscope lesson");
    QTest::newRow("no steps") << QByteArray(R"({"format": "attnscope-lesson", "steps": []})")
                              << QStringLiteral("at least one step");
    QTest::newRow("unknown view") << lessonWith(R"({"method": {}, "view": "pie_chart", "caption": "A."})")
                                  << QStringLiteral("steps[0].view: 'pie_chart' is not a view");
    QTest::newRow("bad mode") << lessonWith(R"({"method": {"mode": "diagonal"}, "view": "attention_map",
                                                "caption": "A."})")
                              << QStringLiteral("steps[0]: 'method.mode': unknown mode 'diagonal'");
    QTest::newRow("no method") << lessonWith(R"({"view": "attention_map", "caption": "A."})")
                               << QStringLiteral("steps[0].method: missing");
    QTest::newRow("unknown placeholder")
        << lessonWith(R"({"method": {}, "view": "attention_map", "caption": "It is {answer} nats."})")
        << QStringLiteral("steps[0].caption: unknown placeholder {answer}");
    QTest::newRow("four sentences")
        << lessonWith(R"({"method": {}, "view": "attention_map", "caption": "One. Two. Three. Four."})")
        << QStringLiteral("steps[0].caption: 4 sentences, at most 3");
    QTest::newRow("no caption") << lessonWith(R"({"method": {}, "view": "attention_map"})")
                                << QStringLiteral("steps[0].caption: missing");
    QTest::newRow("missing context file")
        << lessonWith(R"({"context": "no-such-context.json", "method": {}, "view": "attention_map",
                          "caption": "A."})")
        << QStringLiteral("steps[0].context: ");
    QTest::newRow("chunk out of range")
        << lessonWith(R"({"method": {}, "view": "context_text", "highlight": {"chunk": 7}, "caption": "A."})")
        << QStringLiteral("steps[0].highlight: chunk 7 is not in the context");
    QTest::newRow("bad layer") << lessonWith(R"({"method": {}, "layer": -2, "view": "attention_map",
                                                 "caption": "A."})")
                               << QStringLiteral("steps[0].layer: must be an integer");
}

void LessonTest::badFilesAreRefusedWithTheReason() {
    QFETCH(QByteArray, json);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad-lesson.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(json);
    f.close();
    QString error;
    QVERIFY(!loadLesson(path, &error));
    QVERIFY2(error.startsWith(QStringLiteral("bad-lesson.json: ")), qPrintable(error));
    QVERIFY2(error.contains(reason), qPrintable(error));
    QVERIFY(!error.contains(QLatin1Char('\n')));
}

void LessonTest::roundTripKeepsEveryField() {
    QString error;
    auto lesson = parseLesson(lessonWith(kGoodStep), QStringLiteral("x.json"), &error);
    QVERIFY2(lesson, qPrintable(error));
    LessonStep step = lesson->steps.front();
    step.method.mode = EncodingMode::Full;
    step.method.selective = true;
    step.method.selectK = 3;
    step.method.bos = BosPolicy::Shared;
    step.layer = 2;
    step.head = 1;
    step.view = panels::kContextText;
    step.highlightChunk = 1;
    step.caption = QStringLiteral("Entropy is {query_entropy} nats. K is {k}.");
    step.context.query = "another query";
    step.ownContext = true;
    lesson->steps << step;
    auto back = parseLesson(lessonToJson(*lesson), QStringLiteral("x.json"), &error);
    QVERIFY2(back, qPrintable(error));
    QCOMPARE(back->steps.size(), 2);
    QVERIFY(back->steps[1] == step);
    QVERIFY(sameContext(back->steps[0].context, lesson->context));
}

void LessonTest::captionsAreFilled() {
    const QHash<QString, QString> values{{QStringLiteral("query_entropy"), QStringLiteral("2.51")},
                                         {QStringLiteral("k"), QStringLiteral("2")}};
    QCOMPARE(fillCaption(QStringLiteral("H = {query_entropy} nats, K = {k}."), values),
             QStringLiteral("H = 2.51 nats, K = 2."));
    QCOMPARE(fillCaption(QStringLiteral("PPL {perplexity}."), values), QStringLiteral("PPL …."));
    QCOMPARE(sentenceCount(QStringLiteral("One. Two! Three? ")), 3);
    QCOMPARE(sentenceCount(QStringLiteral("It is {query_entropy} nats")), 1);
    QCOMPARE(unknownPlaceholders(QStringLiteral("{query_entropy} {nope} {k}")), QStringList{QStringLiteral("nope")});
}

std::unique_ptr<MainWindow> LessonTest::openLessonWindow() {
    auto w = std::make_unique<MainWindow>(MainWindow::Mode::Headless);
    w->resize(1280, 720);
    w->show();
    if (!QTest::qWaitForWindowExposed(w.get())) return nullptr;
    StartupOptions options;
    options.lesson = kBundled;
    QString error;
    if (!w->start(options, &error) || !w->waitForSettled(kTimeout, true)) return nullptr;
    return w;
}

void LessonTest::eachStepIsAppliedExactly() {
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    auto w = openLessonWindow();
    QVERIFY(w);
    LessonPlayer* player = w->lessonPlayer();
    QVERIFY(player->active());
    QVERIFY(w->presentationMode());
    for (int i = 0; i < player->lesson().steps.size(); ++i) {
        player->go(i);
        QVERIFY2(w->waitForSettled(kTimeout, true), qPrintable(w->lastError()));
        const LessonStep& s = player->lesson().steps[i];
        const AnalysisController* c = w->controller();
        QVERIFY(c->method() == s.method);
        QVERIFY(sameContext(c->context(), s.context));
        QCOMPARE(c->selection().layer, s.layer);
        QCOMPARE(c->selection().head, s.head);
        QCOMPARE(c->selection().queryToken, s.highlightQuery);
        QCOMPARE(w->contextView()->highlightedChunk(), s.highlightChunk);
        QCOMPARE(w->enlargedView(), s.view);
        QVERIFY(w->panel(s.view)->isVisible());
        QVERIFY(c->current() && c->current()->plan.chunkCount() == chunkCountOf(s.context));
        // Every number of the caption is there, computed from the result on screen.
        const QString caption = player->caption();
        QVERIFY2(!caption.contains(QLatin1Char('{')) && !caption.contains(QStringLiteral("…")), qPrintable(caption));
    }
    // Every result is cached now: a step is the toolbar's click, and nothing animates.
    QList<qint64> ms;
    for (int i = player->lesson().steps.size() - 1; i >= 0; --i) {
        QElapsedTimer t;
        t.start();
        player->go(i);
        QVERIFY(w->waitForSettled(kTimeout, true));
        QCoreApplication::processEvents();
        ms << t.elapsed();
    }
    std::sort(ms.begin(), ms.end());
    qInfo("step changes with cached results: median %lld ms, max %lld ms", ms[ms.size() / 2], ms.back());
    // No animation: the window's dock animations are off, and a step is a result switch and a repaint
    // (about 45 ms for a toggle alone; the bound leaves room for a loaded machine).
    QVERIFY(!w->isAnimated());
    QVERIFY2(ms[ms.size() / 2] < 400, qPrintable(QString::number(ms[ms.size() / 2])));
    // The caption's numbers are the result's: step 1 shows full attention's mean entropy.
    player->go(0);
    QVERIFY(w->waitForSettled(kTimeout, true));
    const QString full =
        QString::number(w->controller()->methodBundle(Method::Full)->stats().meanQueryEntropy(), 'f', 2);
    QVERIFY2(player->caption().contains(full), qPrintable(player->caption()));
    w->endLesson();
    QVERIFY(!player->active());
    QCOMPARE(w->enlargedView(), QString());
}

void LessonTest::clickerKeysMoveBetweenSteps() {
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    auto w = openLessonWindow();
    QVERIFY(w);
    LessonPlayer* player = w->lessonPlayer();
    w->activateWindow();
    QCOMPARE(player->stepIndex(), 0);
    QTest::keyClick(w.get(), Qt::Key_PageDown);
    QCOMPARE(player->stepIndex(), 1);
    QTest::keyClick(w.get(), Qt::Key_Right);
    QCOMPARE(player->stepIndex(), 2);
    QTest::keyClick(w.get(), Qt::Key_PageUp);
    QCOMPARE(player->stepIndex(), 1);
    QTest::keyClick(w.get(), Qt::Key_Left);
    QTest::keyClick(w.get(), Qt::Key_Left);  // stays at the first step
    QCOMPARE(player->stepIndex(), 0);
}

void LessonTest::savedStepHoldsThePresentState() {
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    auto w = openLessonWindow();
    QVERIFY(w);
    w->lessonPlayer()->go(3);
    QVERIFY(w->waitForSettled(kTimeout, true));
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("mine.json"));
    QString error;
    QVERIFY2(w->lessonPlayer()->appendStep(path, QStringLiteral("My own caption: {perplexity}."), &error),
             qPrintable(error));
    const auto saved = loadLesson(path, &error);
    QVERIFY2(saved, qPrintable(error));
    QCOMPARE(saved->steps.size(), w->lessonPlayer()->lesson().steps.size());
    const LessonStep& last = saved->steps.back();
    const LessonStep& shown = saved->steps[3];
    QVERIFY(last.method == shown.method);
    QCOMPARE(last.layer, shown.layer);
    QCOMPARE(last.head, shown.head);
    QCOMPARE(last.view, shown.view);
    QCOMPARE(last.highlightQuery, shown.highlightQuery);
    QCOMPARE(last.caption, QStringLiteral("My own caption: {perplexity}."));
}

void LessonTest::handoutHasOnePagePerStep() {
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    QTemporaryDir dir;
    const QString pdf = dir.filePath(QStringLiteral("handout.pdf"));
    QProcess p;
    p.start(QString::fromLocal8Bit(qgetenv("ATTNSCOPE_APP_EXE")),
            {QStringLiteral("--model"), apptest::demoModelPath(), QStringLiteral("--lesson"),
             QStringLiteral(ATTNSCOPE_SOURCE_DIR "/resources/lessons/parallel-encoding.json"),
             QStringLiteral("--export-lesson"), pdf});
    QVERIFY(p.waitForFinished(240000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    QVERIFY(bytes.startsWith("%PDF"));
    const auto steps = loadLesson(kBundled, nullptr)->steps.size();
    QCOMPARE(bytes.count("/Type /Page\n") + bytes.count("/Type /Page\r") + bytes.count("/Type /Page/") +
                 bytes.count("/Type /Page "),
             steps);
}

void LessonTest::badLessonOnTheCommandLineExitsTwo() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(lessonWith(R"({"method": {}, "view": "nowhere", "caption": "A."})"));
    f.close();
    QProcess p;
    p.start(QString::fromLocal8Bit(qgetenv("ATTNSCOPE_APP_EXE")),
            {QStringLiteral("--lesson"), path, QStringLiteral("--export-lesson"), dir.filePath("out.pdf")});
    QVERIFY(p.waitForFinished(240000));
    QCOMPARE(p.exitCode(), 2);
    QList<QByteArray> ours;
    for (const QByteArray& l : p.readAllStandardError().split('\n'))
        if (l.startsWith("attnscope: ")) ours << l;
    QCOMPARE(ours.size(), 1);
    QVERIFY2(ours.front().contains("broken.json: steps[0].view"), ours.front().constData());
    QVERIFY(!QFile::exists(dir.filePath("out.pdf")));
}

QTEST_MAIN(LessonTest)
#include "test_lesson.moc"
