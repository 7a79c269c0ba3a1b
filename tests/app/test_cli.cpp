// The attnscope executable without a window: --export-figures renders every view and exits 0;
// bad input exits 2 with exactly one line on stderr; --bench-toggles prints its median.
// Before any Qt header: the writers have a member named emit, a Qt macro.
#include "common/model_writers.h"

#include <QFile>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "app_test_util.h"
#include "model/model_loader.h"

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out, err;
};

Run runApp(const QStringList& args, int timeoutMs = 240000) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(QString::fromLocal8Bit(qgetenv("ATTNSCOPE_APP_EXE")), args);
    Run r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// stderr lines that are ours (Qt may add platform notices such as XDG_RUNTIME_DIR).
QList<QByteArray> ourLines(const QByteArray& err) {
    QList<QByteArray> lines;
    for (const QByteArray& l : err.split('\n'))
        if (l.startsWith("attnscope: ")) lines << l;
    return lines;
}

}  // namespace

class CliTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void exportFiguresRendersEveryView();
    void exportFiguresWithMethodOptions();
    void badInputExitsTwoWithOneLine_data();
    void badInputExitsTwoWithOneLine();
    void benchTogglesPrintsMedian();

private:
    QString context_;
    QString hfNoTokenizer_;
    QTemporaryDir dir_;
};

void CliTest::initTestCase() {
    QVERIFY2(!qgetenv("ATTNSCOPE_APP_EXE").isEmpty(), "ATTNSCOPE_APP_EXE is not set");
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
    context_ = dir_.filePath(QStringLiteral("context.json"));
    QFile f(context_);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"prefix": "Once upon a time", "chunks": ["there was a girl named Lily. She liked to play.",
               "Tom had a big red ball. He threw it high.", "The sun was warm and the sky was blue."],
               "query": "Lily and Tom played with the ball in the sun."})");
    auto model = attnscope::loadModel(apptest::demoModelPath().toStdString());
    QVERIFY(model.ok());
    hfNoTokenizer_ = dir_.filePath(QStringLiteral("stories-hf"));
    QVERIFY(attnscope::test::writeHfFolderFromModel(**model, hfNoTokenizer_.toStdString()).ok());
}

void CliTest::exportFiguresRendersEveryView() {
    const QString out = dir_.filePath(QStringLiteral("figs"));
    const Run r = runApp({QStringLiteral("--model"), apptest::demoModelPath(), QStringLiteral("--context"), context_,
                          QStringLiteral("--export-figures"), out, QStringLiteral("--png-scale"), QStringLiteral("1"),
                          QStringLiteral("--no-sweep")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    for (const char* view : {"attention_map", "context_text", "layer_head_grid", "entropy_by_layer", "entropy_sequence"})
        for (const char* ext : {"png", "svg", "pdf", "csv", "json"}) {
            const QString path = out + QStringLiteral("/%1.%2").arg(QLatin1String(view), QLatin1String(ext));
            QVERIFY2(QFileInfo(path).size() > 100, qPrintable(path));
        }
    QVERIFY(!QImage(out + QStringLiteral("/attention_map.png")).isNull());
    QFile pdf(out + QStringLiteral("/entropy_by_layer.pdf"));
    QVERIFY(pdf.open(QIODevice::ReadOnly));
    QCOMPARE(pdf.read(4), QByteArray("%PDF"));
    QFile analysis(out + QStringLiteral("/analysis.json"));
    QVERIFY(analysis.open(QIODevice::ReadOnly));
    const QJsonObject j = QJsonDocument::fromJson(analysis.readAll()).object();
    QVERIFY(j.contains(QStringLiteral("mean_entropy")));
    QVERIFY(j.contains(QStringLiteral("layer_entropy")));
    QVERIFY(!QFileInfo::exists(out + QStringLiteral("/p_sweep.png")));   // --no-sweep
}

void CliTest::exportFiguresWithMethodOptions() {
    const QString out = dir_.filePath(QStringLiteral("figs-full"));
    const Run r = runApp({QStringLiteral("--model"), QStringLiteral("stories260K.gguf"), QStringLiteral("--context"), context_,
                          QStringLiteral("--mode"), QStringLiteral("parallel"), QStringLiteral("--sink"), QStringLiteral("off"),
                          QStringLiteral("--select"), QStringLiteral("1"), QStringLiteral("--positions"),
                          QStringLiteral("restart"), QStringLiteral("--bos"), QStringLiteral("shared"),
                          QStringLiteral("--export-figures"), out, QStringLiteral("--png-scale"), QStringLiteral("1")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QFile analysis(out + QStringLiteral("/analysis.json"));
    QVERIFY(analysis.open(QIODevice::ReadOnly));
    const QJsonObject options = QJsonDocument::fromJson(analysis.readAll()).object().value(QStringLiteral("options")).toObject();
    QCOMPARE(options.value(QStringLiteral("positions")).toString(), QStringLiteral("restart"));
    QCOMPARE(options.value(QStringLiteral("bos")).toString(), QStringLiteral("shared"));
    QVERIFY(QFileInfo::exists(out + QStringLiteral("/p_sweep.svg")));   // the sweep ran (a short text, small P)
}

void CliTest::badInputExitsTwoWithOneLine_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mentions");
    const QString out = dir_.filePath(QStringLiteral("never"));
    const QString badJson = dir_.filePath(QStringLiteral("bad.json"));
    QFile f(badJson);
    if (f.open(QIODevice::WriteOnly)) f.write("{\"chunks\": [\"a\"], \"query\": ");
    f.close();
    const QString badModel = dir_.filePath(QStringLiteral("bad.gguf"));
    QFile m(badModel);
    if (m.open(QIODevice::WriteOnly)) m.write("not a gguf file at all");
    m.close();
    QTest::newRow("malformed context") << QStringList{QStringLiteral("--context"), badJson, QStringLiteral("--export-figures"), out}
                                       << QStringLiteral("bad.json");
    QTest::newRow("missing context") << QStringList{QStringLiteral("--context"), dir_.filePath(QStringLiteral("none.json")),
                                                    QStringLiteral("--export-figures"), out}
                                     << QStringLiteral("none.json");
    QTest::newRow("bad model") << QStringList{QStringLiteral("--model"), badModel, QStringLiteral("--context"), context_,
                                              QStringLiteral("--export-figures"), out}
                               << QStringLiteral("bad.gguf");
    QTest::newRow("missing model") << QStringList{QStringLiteral("--model"), QStringLiteral("no-such-model.gguf"),
                                                  QStringLiteral("--export-figures"), out}
                                   << QStringLiteral("no-such-model.gguf");
    QTest::newRow("bad mode") << QStringList{QStringLiteral("--mode"), QStringLiteral("sideways"), QStringLiteral("--export-figures"), out}
                              << QStringLiteral("sideways");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--frobnicate")} << QStringLiteral("frobnicate");

    // Sessions that cannot be used: never the demo exported instead.
    auto session = [&](const char* name, const QByteArray& content) {
        const QString path = dir_.filePath(QLatin1String(name));
        QFile s(path);
        if (s.open(QIODevice::WriteOnly)) s.write(content);
        return path;
    };
    const QByteArray good = R"({"format": "attnscope-session", "version": 1, "model": "stories260K.gguf",
        "context": {"chunks": ["Tom had a ball."], "query": "Lily played."}})";
    const QList<std::pair<const char*, QByteArray>> sessions = {
        {"empty.attnscope.json", QByteArray()},
        {"truncated.attnscope.json", good.left(good.size() / 2)},
        {"future.attnscope.json", QByteArray(good).replace("\"version\": 1", "\"version\": 99")},
        {"badmodel.attnscope.json", QByteArray(good).replace("stories260K.gguf", "no-such-model.gguf")},
        {"notasession.attnscope.json", QByteArray("[1, 2, 3]")},
    };
    for (const auto& [name, content] : sessions) {
        const QString path = session(name, content);
        QTest::newRow(name) << QStringList{QStringLiteral("--session"), path, QStringLiteral("--export-figures"), out}
                            << QString::fromLatin1(name);
        QTest::newRow(qPrintable(QStringLiteral("%1 as the file argument").arg(QLatin1String(name))))
            << QStringList{path, QStringLiteral("--export-figures"), out} << QString::fromLatin1(name);
    }
    QTest::newRow("session naming a missing model") << QStringList{QStringLiteral("--session"),
                                                                   dir_.filePath(QStringLiteral("badmodel.attnscope.json")),
                                                                   QStringLiteral("--export-figures"), out}
                                                    << QStringLiteral("no-such-model.gguf");
    // A Hugging Face folder without tokenizer.model: a clean error naming the folder and the file.
    QTest::newRow("folder without tokenizer") << QStringList{QStringLiteral("--model"), hfNoTokenizer_,
                                                             QStringLiteral("--export-figures"), out}
                                              << QStringLiteral("stories-hf");
    QTest::newRow("folder without tokenizer, what is missing") << QStringList{QStringLiteral("--model"), hfNoTokenizer_,
                                                                              QStringLiteral("--export-figures"), out}
                                                               << QStringLiteral("tokenizer.model");
}

void CliTest::badInputExitsTwoWithOneLine() {
    QFETCH(QStringList, args);
    QFETCH(QString, mentions);
    const Run r = runApp(args);
    QCOMPARE(r.exitCode, 2);
    const QList<QByteArray> lines = ourLines(r.err);
    QVERIFY2(lines.size() == 1, r.err.constData());
    QVERIFY2(lines.front().contains(mentions.toUtf8()), lines.front().constData());
    QVERIFY(!QFileInfo::exists(dir_.filePath(QStringLiteral("never"))));
}

void CliTest::benchTogglesPrintsMedian() {
    const Run r = runApp({QStringLiteral("--bench-toggles"), QStringLiteral("3")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QByteArray first = r.out.split('\n').front();
    QVERIFY2(first.startsWith("toggle-to-repaint median: "), r.out.constData());
    const double ms = first.mid(26).split(' ').front().toDouble();
    QVERIFY2(ms > 0 && ms < 2000, first.constData());   // sanity only: timing depends on the machine
}

QTEST_MAIN(CliTest)
#include "test_cli.moc"
