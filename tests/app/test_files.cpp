// Session files (round trip of every field, corrupt files rejected with file + reason), context
// files (JSON and plain text) and the text-splitting helpers.
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include "context_text.h"
#include "session_file.h"
#include "startup_options.h"

using namespace attnscope;
using namespace attnscope::gui;

class FilesTest : public QObject {
    Q_OBJECT
private slots:
    void sessionRoundTripsEveryField();
    void corruptSessionsAreRejected_data();
    void corruptSessionsAreRejected();
    void newerSessionVersionIsRejected();
    void contextJsonRoundTrip();
    void contextPlainTextRoundTrip();
    void plainParagraphsBecomeChunksAndQuery();
    void splitIntoPartsKeepsAllText();
    void splitIntoPartsPrefersSentenceEnds();
    void splitAtDelimiter();
    void startupOptions();
    void startupOptionsRejectBadValues();
    void sessionArgumentIsTakenBeforeQt();
};

namespace {

SessionState everyFieldSet() {
    SessionState s;
    s.modelPath = QStringLiteral("/models/some model.gguf");
    s.context.prefix = "Once upon a time";
    s.context.chunks = {"first chunk", "second \"quoted\" chunk\nwith a line break", "ünïcödé ✓"};
    s.context.query = "The end.";
    s.context.prefixIds = std::vector<std::int32_t>{1, 403};
    s.context.chunkIds = std::vector<std::vector<std::int32_t>>{{5, 6}, {7}};
    s.context.queryIds = std::vector<std::int32_t>{9, 10, 11};
    s.method.mode = EncodingMode::Full;
    s.method.sink = false;
    s.method.selective = true;
    s.method.selectK = 3;
    s.method.scoreTopN = 0;
    s.method.aggregation = SelectAggregation::HeadsQueries;
    s.method.positions = PositionPolicy::Restart;
    s.method.bos = BosPolicy::PerChunk;
    s.method.window = WindowRule::Position;
    s.selection.layer = 4;
    s.selection.head = 7;
    s.selection.queryToken = 12;
    s.selection.allTokenRows = false;
    s.sweep.parts = {1, 3, 9};
    s.sweep.queryTokens = 17;
    s.windowGeometry = QByteArray("\x01\x02geometry\xff", 11);
    s.windowState = QByteArray("state\x00\x7f", 7);
    s.presentation = true;
    s.logScale = false;
    s.currentView = QStringLiteral("p_sweep");
    return s;
}

}  // namespace

void FilesTest::sessionRoundTripsEveryField() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("s.attnscope.json"));
    const SessionState s = everyFieldSet();
    QString error;
    QVERIFY2(saveSession(path, s, &error), qPrintable(error));
    auto back = loadSession(path, &error);
    QVERIFY2(back.has_value(), qPrintable(error));
    QVERIFY(*back == s);
    // Every field differs from the defaults, so the comparison above covers each of them.
    QVERIFY(!(SessionState{} == s));

    // Readable: indented JSON with the documented keys.
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY(text.contains("\"format\": \"attnscope-session\""));
    QVERIFY(text.contains("\"positions\": \"restart\""));
    QVERIFY(text.contains("\"window_rule\": \"position\""));
    QVERIFY(text.contains("\n    "));

    // A session saved before the window rule existed has no such key: it loads as physical.
    QJsonObject old = sessionToJson(s);
    QJsonObject method = old.value(QStringLiteral("method")).toObject();
    method.remove(QStringLiteral("window_rule"));
    old[QStringLiteral("method")] = method;
    auto oldBack = sessionFromJson(old, path, &error);
    QVERIFY2(oldBack.has_value(), qPrintable(error));
    QCOMPARE(oldBack->method.window, WindowRule::Physical);
}

void FilesTest::corruptSessionsAreRejected_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("reason");
    QTest::newRow("not json") << QByteArray("{\"format\": \"attnscope-session\", ") << QStringLiteral("at byte");
    QTest::newRow("binary") << QByteArray("\x89PNG\r\n\x1a\n\0\0", 10) << QStringLiteral("at byte");
    QTest::newRow("array") << QByteArray("[1, 2]") << QStringLiteral("JSON object");
    QTest::newRow("no format") << QByteArray("{\"model\": \"m.gguf\"}") << QStringLiteral("not an attnscope session");
    QTest::newRow("bad context")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"chunks\":[1,2],\"query\":\"q\"}}")
        << QStringLiteral("context.chunks");
    QTest::newRow("no query") << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"chunks\":[]}}")
                              << QStringLiteral("query");
    QTest::newRow("bad mode")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"method\":{\"mode\":\"diagonal\"}}")
        << QStringLiteral("method.mode");
    QTest::newRow("bad window rule")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"method\":{\"window_rule\":\"diagonal\"}}")
        << QStringLiteral("method.window_rule");
    QTest::newRow("bad k")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"method\":{\"select_k\":2.5}}")
        << QStringLiteral("method.select_k");
    QTest::newRow("bad layer")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"selection\":{\"layer\":-3}}")
        << QStringLiteral("selection.layer");
    QTest::newRow("huge version")  // beyond every integer type: must be refused, not converted
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1e300,\"context\":{\"query\":\"q\"}}")
        << QStringLiteral("'version' must be an integer");
    QTest::newRow("huge layer")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"selection\":{\"layer\":-1e300}}")
        << QStringLiteral("selection.layer");
    QTest::newRow("bad parts")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"sweep\":{\"parts\":[0]}}")
        << QStringLiteral("sweep.parts");
    QTest::newRow("bad geometry")
        << QByteArray("{\"format\":\"attnscope-session\",\"version\":1,\"context\":{\"query\":\"q\"},\"view\":{\"geometry\":\"***\"}}")
        << QStringLiteral("view.geometry");
}

void FilesTest::corruptSessionsAreRejected() {
    QFETCH(QByteArray, content);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.attnscope.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(content);
    f.close();
    QString error;
    QVERIFY(!loadSession(path, &error).has_value());
    QVERIFY2(error.contains(QStringLiteral("broken.attnscope.json")), qPrintable(error));   // names the file
    QVERIFY2(error.contains(reason), qPrintable(error));                                    // and the reason
    QVERIFY(!error.contains(QLatin1Char('\n')));
}

void FilesTest::newerSessionVersionIsRejected() {
    QJsonObject o = sessionToJson(everyFieldSet());
    o[QStringLiteral("version")] = kSessionVersion + 1;
    QString error;
    QVERIFY(!sessionFromJson(o, QStringLiteral("x.json"), &error).has_value());
    QVERIFY(error.contains(QStringLiteral("newer")));
}

void FilesTest::contextJsonRoundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.json"));
    ContextSpec c;
    c.prefix = "Once upon a time";
    c.chunks = {"a", "b b", "c\nc"};
    c.query = "q?";
    QString error;
    QVERIFY2(saveContextFile(path, c, &error), qPrintable(error));
    // The CLI format: exactly prefix/chunks/query.
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    QCOMPARE(o.keys(), (QStringList{QStringLiteral("chunks"), QStringLiteral("prefix"), QStringLiteral("query")}));
    auto back = loadContextFile(path, &error);
    QVERIFY2(back.has_value(), qPrintable(error));
    QVERIFY(sameContext(*back, c));
    // The engine reads the same file.
    auto engine = ContextSpec::fromFile(path.toStdString());
    QVERIFY(engine.ok());
    QVERIFY(sameContext(*engine, c));
}

void FilesTest::contextPlainTextRoundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.txt"));
    ContextSpec c;
    c.prefix = "Once upon a time";
    c.chunks = {"first paragraph.\n\nstill the first chunk", "second"};
    c.query = "the query";
    QString error;
    QVERIFY(saveContextFile(path, c, &error));
    auto back = loadContextFile(path, &error);
    QVERIFY2(back.has_value(), qPrintable(error));
    QVERIFY(sameContext(*back, c));
}

void FilesTest::plainParagraphsBecomeChunksAndQuery() {
    const ContextSpec c = contextFromPlainText(QStringLiteral("One.\n\nTwo.\n  \nThree.\n\nThe query."));
    QCOMPARE(c.chunks.size(), std::size_t(3));
    QCOMPARE(QString::fromStdString(c.chunks[1]), QStringLiteral("Two."));
    QCOMPARE(QString::fromStdString(c.query), QStringLiteral("The query."));
    QVERIFY(c.prefix.empty());
}

void FilesTest::splitIntoPartsKeepsAllText() {
    QString text;
    for (int i = 0; i < 40; ++i) text += QStringLiteral("Sentence number %1 is here. ").arg(i);
    for (int p : {1, 2, 3, 4, 7, 16}) {
        const QStringList parts = splitIntoParts(text, p);
        QCOMPARE(parts.size(), p);
        QCOMPARE(parts.join(QLatin1Char(' ')).simplified(), text.simplified());
        for (const QString& s : parts) QVERIFY(!s.isEmpty());
        if (p > 1) {   // near-equal: no part more than twice the ideal length
            for (const QString& s : parts) QVERIFY2(s.size() < 2 * text.size() / p, qPrintable(s));
        }
    }
    QCOMPARE(splitIntoParts(QStringLiteral("two words"), 5).size(), 2);   // cannot cut inside a word
    QVERIFY(splitIntoParts(QStringLiteral("   "), 3).isEmpty());
}

void FilesTest::splitIntoPartsPrefersSentenceEnds() {
    const QString text = QStringLiteral("The cat sat on the mat all day long. The dog ran in the park after lunch.");
    const QStringList parts = splitIntoParts(text, 2);
    QCOMPARE(parts.size(), 2);
    QVERIFY2(parts[0].endsWith(QLatin1Char('.')), qPrintable(parts[0]));
    QVERIFY(parts[1].startsWith(QStringLiteral("The dog")));
}

void FilesTest::splitAtDelimiter() {
    const QString text = QStringLiteral("a b\n\n c \n\t\n\nd\ne");
    QCOMPARE(attnscope::gui::splitAtDelimiter(text, SplitDelimiter::BlankLines),
             (QStringList{QStringLiteral("a b"), QStringLiteral("c"), QStringLiteral("d\ne")}));
    QCOMPARE(attnscope::gui::splitAtDelimiter(QStringLiteral("x\ny\r\n\nz"), SplitDelimiter::Lines),
             (QStringList{QStringLiteral("x"), QStringLiteral("y"), QStringLiteral("z")}));
    QCOMPARE(attnscope::gui::splitAtDelimiter(QStringLiteral("x---y--- z"), SplitDelimiter::Custom, QStringLiteral("---")),
             (QStringList{QStringLiteral("x"), QStringLiteral("y"), QStringLiteral("z")}));
}

void FilesTest::startupOptions() {
    QString error;
    auto o = parseStartupOptions({QStringLiteral("attnscope"), QStringLiteral("--model"), QStringLiteral("m.gguf"),
                                  QStringLiteral("--context"), QStringLiteral("c.json"), QStringLiteral("--mode"),
                                  QStringLiteral("full"), QStringLiteral("--sink"), QStringLiteral("off"),
                                  QStringLiteral("--select"), QStringLiteral("3"), QStringLiteral("--positions"),
                                  QStringLiteral("restart"), QStringLiteral("--bos"), QStringLiteral("per-chunk"),
                                  QStringLiteral("--window-rule"), QStringLiteral("position"),
                                  QStringLiteral("--export-figures"), QStringLiteral("out")},
                                 &error);
    QVERIFY2(o.has_value(), qPrintable(error));
    QVERIFY(o->headless());
    MethodSettings m;
    ViewSelection s;
    o->applyTo(m, s);
    QCOMPARE(m.mode, EncodingMode::Full);
    QCOMPARE(m.sink, false);
    QCOMPARE(m.selective, true);
    QCOMPARE(m.selectK, 3);
    QCOMPARE(m.positions, PositionPolicy::Restart);
    QCOMPARE(m.bos, BosPolicy::PerChunk);
    QCOMPARE(m.window, WindowRule::Position);

    auto bench = parseStartupOptions({QStringLiteral("attnscope"), QStringLiteral("--bench-toggles")}, &error);
    QVERIFY2(bench.has_value(), qPrintable(error));
    QCOMPARE(bench->benchToggles, 20);
    bench = parseStartupOptions({QStringLiteral("attnscope"), QStringLiteral("--bench-toggles"), QStringLiteral("7")}, &error);
    QCOMPARE(bench->benchToggles, 7);
}

void FilesTest::startupOptionsRejectBadValues() {
    const QList<QStringList> bad = {
        {QStringLiteral("--mode"), QStringLiteral("diagonal")},
        {QStringLiteral("--sink"), QStringLiteral("maybe")},
        {QStringLiteral("--select"), QStringLiteral("-1")},
        {QStringLiteral("--positions"), QStringLiteral("shuffle")},
        {QStringLiteral("--bos"), QStringLiteral("twice")},
        {QStringLiteral("--window-rule"), QStringLiteral("diagonal")},
        {QStringLiteral("--no-such-option")},
    };
    for (const QStringList& args : bad) {
        QString error;
        QVERIFY2(!parseStartupOptions(QStringList{QStringLiteral("attnscope")} + args, &error).has_value(),
                 qPrintable(args.join(' ')));
        QVERIFY(!error.isEmpty());
    }
}

// Qt would take "--session ID" for X11 session management: the app reads it from argv first.
void FilesTest::sessionArgumentIsTakenBeforeQt() {
    QByteArray words[] = {"attnscope", "--session", "s.attnscope.json", "--no-sweep", "--session=t.json", "-x"};
    char* argv[std::size(words) + 1] = {};
    for (std::size_t i = 0; i < std::size(words); ++i) argv[i] = words[i].data();
    int argc = static_cast<int>(std::size(words));
    bool missing = false;
    QCOMPARE(takeSessionArgument(argc, argv, &missing), QStringLiteral("t.json"));   // the last one wins
    QVERIFY(!missing);
    QCOMPARE(argc, 3);
    QCOMPARE(QByteArray(argv[1]), QByteArray("--no-sweep"));
    QCOMPARE(QByteArray(argv[2]), QByteArray("-x"));
    QCOMPARE(argv[3], nullptr);

    QByteArray tail[] = {"attnscope", "--session"};
    char* argv2[] = {tail[0].data(), tail[1].data(), nullptr};
    int argc2 = 2;
    QVERIFY(takeSessionArgument(argc2, argv2, &missing).isEmpty());
    QVERIFY(missing);
}

QTEST_MAIN(FilesTest)
#include "test_files.moc"
