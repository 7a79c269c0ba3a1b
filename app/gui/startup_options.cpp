#include "startup_options.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include "context_text.h"

namespace attnscope::gui {

namespace {

template <typename T>
bool readChoice(const QCommandLineParser& p, const char* name, std::optional<T>& out,
                Result<T> (*parse)(const std::string&), QString* error) {
    if (!p.isSet(QLatin1String(name))) return true;
    auto v = parse(toStd(p.value(QLatin1String(name))));
    if (!v) {
        if (error) *error = QStringLiteral("--%1: %2").arg(QLatin1String(name), fromStd(v.error().message));
        return false;
    }
    out = *v;
    return true;
}

bool readInt(const QCommandLineParser& p, const char* name, int lo, int hi, std::optional<int>& out, QString* error) {
    if (!p.isSet(QLatin1String(name))) return true;
    bool ok = false;
    const int v = p.value(QLatin1String(name)).toInt(&ok);
    if (!ok || v < lo || v > hi) {
        if (error)
            *error = QStringLiteral("--%1: expected an integer from %2 to %3, got '%4'")
                         .arg(QLatin1String(name))
                         .arg(lo)
                         .arg(hi)
                         .arg(p.value(QLatin1String(name)));
        return false;
    }
    out = v;
    return true;
}

bool readLessonOptions(const QCommandLineParser& p, StartupOptions& o, QString* error) {
    o.lesson = p.value(QStringLiteral("lesson"));
    o.exportLesson = p.value(QStringLiteral("export-lesson"));
    QString problem;
    if (!o.exportLesson.isEmpty() && o.lesson.isEmpty())
        problem = QStringLiteral("--export-lesson needs --lesson FILE");
    else if (!o.exportLesson.isEmpty() && !o.exportDir.isEmpty())
        problem = QStringLiteral("--export-lesson and --export-figures cannot be combined");
    else if (!o.exportLesson.isEmpty() && !o.exportLesson.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
        problem = QStringLiteral("--export-lesson: %1: the handout is a PDF (name it .pdf)").arg(o.exportLesson);
    if (problem.isEmpty()) return true;
    if (error) *error = problem;
    return false;
}

}  // namespace

void StartupOptions::applyTo(MethodSettings& method, ViewSelection& selection) const {
    if (mode) method.mode = *mode;
    if (sink) method.sink = *sink;
    if (select) {
        method.selective = *select > 0;
        if (*select > 0) method.selectK = *select;
    }
    if (scoreTopN) method.scoreTopN = *scoreTopN;
    if (aggregation) method.aggregation = *aggregation;
    if (positions) method.positions = *positions;
    if (windowRule) method.window = *windowRule;
    if (bos) method.bos = *bos;
    if (layer) selection.layer = *layer;
    if (head) selection.head = *head;
}

QString takeSessionArgument(int& argc, char** argv, bool* missingValue) {
    QString file;
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const QByteArray a(argv[i]);
        if (a == "--session" || a == "-session") {
            if (i + 1 < argc) file = QString::fromLocal8Bit(argv[++i]);
            else if (missingValue) *missingValue = true;
        } else if (a.startsWith("--session=")) {
            file = QString::fromLocal8Bit(a.mid(10));
        } else {
            argv[out++] = argv[i];
        }
    }
    argc = out;
    argv[argc] = nullptr;
    return file;
}

QStringList normalizeArguments(QStringList args) {
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] != QLatin1String("--bench-toggles")) continue;
        bool isNumber = false;
        if (i + 1 < args.size()) args[i + 1].toInt(&isNumber);
        if (!isNumber) args.insert(i + 1, QStringLiteral("20"));
    }
    return args;
}

void addStartupOptions(QCommandLineParser& parser) {
    parser.setApplicationDescription(QCoreApplication::translate(
        "attnscope", "See attention entropy inside a language model when its context is split into chunks."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        QStringLiteral("file"),
        QCoreApplication::translate("attnscope", "A session, context (.json/.txt) or model to open."),
        QStringLiteral("[file]"));
    auto opt = [&](const char* name, const char* help, const char* value = nullptr) {
        parser.addOption(value ? QCommandLineOption(QLatin1String(name), QString::fromUtf8(help), QLatin1String(value))
                               : QCommandLineOption(QLatin1String(name), QString::fromUtf8(help)));
    };
    opt("model", "Model: a .gguf file, a Hugging Face folder, or a file name in the models folder.", "path");
    opt("context", "Context JSON ({\"prefix\", \"chunks\", \"query\"}) or plain text.", "file");
    opt("session", "A saved attnscope session.", "file");
    opt("mode", "Encoding: full or parallel.", "mode");
    opt("sink", "Shared sink prefix: on or off.", "on|off");
    opt("select", "Selective attention: keep the top K chunks (0 = off).", "K");
    opt("score-top-n", "Chunk score = sum of its top-n probabilities.", "n");
    opt("aggregation", "Selection aggregation: none or heads-queries.", "a");
    opt("positions", "Position rule: stretch, restart or sequential.", "rule");
    opt("window-rule", "Sliding-window layers measure the window by physical index or by position id.",
        "physical|position");
    opt("bos", "BOS policy: none, shared or per-chunk.", "policy");
    opt("layer", "Selected layer.", "L");
    opt("head", "Selected head (-1 = mean of heads).", "H");
    opt("export-figures", "Render every view to files in DIR without showing a window, then exit.", "DIR");
    opt("png-scale", "Scale of exported PNG figures (default 2).", "S");
    opt("no-sweep", "With --export-figures: skip the P sweep.");
    opt("bench-toggles", "Measure toggle-to-repaint latency over N toggles of sink and of selective.", "N");
    opt("presentation", "Start in presentation mode (larger fonts).");
    opt("lesson",
        "Run the lesson in FILE (JSON; the bundled one: resources/lessons/parallel-encoding.json) in presentation "
        "mode: each step sets the context, method, layer and head, enlarges one view and shows its caption. "
        "Right/Left, PageDown/PageUp or Space move between steps.",
        "FILE");
    opt("export-lesson",
        "With --lesson: write the lesson's handout to OUT (PDF, one page per step: the step's view as a vector "
        "figure, its caption and method) without showing a window, then exit.",
        "OUT.pdf");
}

std::optional<StartupOptions> readStartupOptions(const QCommandLineParser& p, QString* error) {
    StartupOptions o;
    const QStringList pos = p.positionalArguments();
    if (pos.size() > 1) {
        if (error) *error = QStringLiteral("expected at most one file, got %1").arg(pos.size());
        return std::nullopt;
    }
    if (!pos.isEmpty()) o.file = pos.front();
    o.model = p.value(QStringLiteral("model"));
    o.context = p.value(QStringLiteral("context"));
    o.session = p.value(QStringLiteral("session"));
    if (!readChoice(p, "mode", o.mode, &parseEncodingMode, error)) return std::nullopt;
    if (!readChoice(p, "aggregation", o.aggregation, &parseSelectAggregation, error)) return std::nullopt;
    if (!readChoice(p, "positions", o.positions, &parsePositionPolicy, error)) return std::nullopt;
    if (!readChoice(p, "window-rule", o.windowRule, &parseWindowRule, error)) return std::nullopt;
    if (!readChoice(p, "bos", o.bos, &parseBosPolicy, error)) return std::nullopt;
    if (p.isSet(QStringLiteral("sink"))) {
        const QString v = p.value(QStringLiteral("sink")).toLower();
        if (v == QLatin1String("on") || v == QLatin1String("true") || v == QLatin1String("1")) o.sink = true;
        else if (v == QLatin1String("off") || v == QLatin1String("false") || v == QLatin1String("0")) o.sink = false;
        else {
            if (error) *error = QStringLiteral("--sink: expected on or off, got '%1'").arg(v);
            return std::nullopt;
        }
    }
    if (!readInt(p, "select", 0, 4096, o.select, error)) return std::nullopt;
    if (!readInt(p, "score-top-n", 0, 1 << 20, o.scoreTopN, error)) return std::nullopt;
    if (!readInt(p, "layer", 0, 1 << 16, o.layer, error)) return std::nullopt;
    if (!readInt(p, "head", -1, 1 << 16, o.head, error)) return std::nullopt;
    std::optional<int> bench;
    if (!readInt(p, "bench-toggles", 1, 100000, bench, error)) return std::nullopt;
    o.benchToggles = bench.value_or(0);
    o.exportDir = p.value(QStringLiteral("export-figures"));
    if (p.isSet(QStringLiteral("png-scale"))) {
        bool ok = false;
        o.pngScale = p.value(QStringLiteral("png-scale")).toDouble(&ok);
        if (!ok || o.pngScale < 0.25 || o.pngScale > 8) {
            if (error) *error = QStringLiteral("--png-scale: expected a number from 0.25 to 8");
            return std::nullopt;
        }
    }
    o.sweep = !p.isSet(QStringLiteral("no-sweep"));
    o.presentation = p.isSet(QStringLiteral("presentation"));
    if (!readLessonOptions(p, o, error)) return std::nullopt;
    if (o.headless() && o.benchToggles > 0) {
        if (error) *error = QStringLiteral("--export-figures and --bench-toggles cannot be combined");
        return std::nullopt;
    }
    return o;
}

std::optional<StartupOptions> parseStartupOptions(const QStringList& arguments, QString* error) {
    QCommandLineParser p;
    addStartupOptions(p);
    if (!p.parse(normalizeArguments(arguments))) {
        if (error) *error = p.errorText();
        return std::nullopt;
    }
    return readStartupOptions(p, error);
}

}  // namespace attnscope::gui
