#include "lesson.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include "analysis_views.h"
#include "context_text.h"
#include "figure_export.h"
#include "input_file.h"
#include "session_file.h"

namespace attnscope::gui {

namespace {

const QRegularExpression& placeholderPattern() {
    static const QRegularExpression re(QStringLiteral("\\{([A-Za-z_][A-Za-z0-9_]*)\\}"));
    return re;
}

struct StepReader {
    QString where;  // "steps[2]"
    QString* error;
    bool fail(const QString& what) {
        if (error) *error = QStringLiteral("%1.%2").arg(where, what);
        return false;
    }
};

// A context: a file (relative to the lesson's folder) or the context itself.
std::optional<ContextSpec> readContext(const QJsonValue& value, const QDir& base, QString* ref, QString* reason) {
    if (value.isString()) {
        *ref = value.toString();
        QString e;
        auto context = loadContextFile(QDir::cleanPath(base.filePath(*ref)), &e);
        if (!context && reason) *reason = e;
        return context;
    }
    if (value.isObject()) return contextSpecFromQJson(value.toObject(), reason);
    if (reason) *reason = QStringLiteral("must be a context file name or a context object");
    return std::nullopt;
}

bool readInt(const QJsonObject& o, const char* key, int lo, int hi, int& out, StepReader& r) {
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined()) return true;
    const double d = v.toDouble(std::nan(""));
    if (!v.isDouble() || !(d >= lo && d <= hi) || d != std::floor(d))
        return r.fail(QStringLiteral("%1: must be an integer from %2 to %3").arg(QLatin1String(key)).arg(lo).arg(hi));
    out = static_cast<int>(d);
    return true;
}

bool readCaption(const QJsonObject& o, LessonStep& step, StepReader& r) {
    step.caption = o.value(QStringLiteral("caption")).toString().trimmed();
    if (step.caption.isEmpty()) return r.fail(QStringLiteral("caption: missing (1–3 sentences)"));
    if (const QStringList unknown = unknownPlaceholders(step.caption); !unknown.isEmpty())
        return r.fail(QStringLiteral("caption: unknown placeholder {%1}").arg(unknown.front()));
    if (const int n = sentenceCount(step.caption); n > 3)
        return r.fail(QStringLiteral("caption: %1 sentences, at most 3").arg(n));
    return true;
}

bool readHighlight(const QJsonObject& o, LessonStep& step, StepReader& r) {
    const QJsonValue v = o.value(QStringLiteral("highlight"));
    if (v.isUndefined() || v.isNull()) return true;
    if (!v.isObject()) return r.fail(QStringLiteral("highlight: must be {\"query_token\": q} or {\"chunk\": c}"));
    const QJsonObject h = v.toObject();
    if (!readInt(h, "query_token", 0, 1 << 20, step.highlightQuery, r)) return false;
    if (!readInt(h, "chunk", 0, 1 << 20, step.highlightChunk, r)) return false;
    if (step.highlightQuery < 0 && step.highlightChunk < 0)
        return r.fail(QStringLiteral("highlight: must be {\"query_token\": q} or {\"chunk\": c}"));
    if (step.highlightChunk >= chunkCountOf(step.context))
        return r.fail(QStringLiteral("highlight: chunk %1 is not in the context").arg(step.highlightChunk));
    return true;
}

std::optional<LessonStep> readStep(const QJsonValue& value, const Lesson& lesson, const QDir& base, StepReader r) {
    if (!value.isObject()) return r.fail(QStringLiteral("must be an object")), std::nullopt;
    const QJsonObject o = value.toObject();
    LessonStep step;
    step.context = lesson.context;
    if (o.contains(QStringLiteral("context"))) {
        QString reason;
        auto context = readContext(o.value(QStringLiteral("context")), base, &step.contextRef, &reason);
        if (!context) return r.fail(QStringLiteral("context: %1").arg(reason)), std::nullopt;
        step.context = std::move(*context);
        step.ownContext = true;
    } else if (chunkCountOf(lesson.context) == 0) {
        return r.fail(QStringLiteral("context: missing (neither the step nor the lesson has one)")), std::nullopt;
    }
    QString reason;
    const QJsonValue method = o.value(QStringLiteral("method"));
    if (!method.isObject()) return r.fail(QStringLiteral("method: missing, or not an object")), std::nullopt;
    auto m = methodFromJson(method.toObject(), &reason);
    if (!m) {
        if (r.error) *r.error = QStringLiteral("%1: %2").arg(r.where, reason);
        return std::nullopt;
    }
    step.method = *m;
    if (!readInt(o, "layer", 0, 1 << 16, step.layer, r) || !readInt(o, "head", -1, 1 << 16, step.head, r))
        return std::nullopt;
    step.view = o.value(QStringLiteral("view")).toString();
    if (!lessonViews().contains(step.view))
        return r.fail(QStringLiteral("view: '%1' is not a view (expected %2)")
                          .arg(step.view, lessonViews().join(QStringLiteral(", ")))),
               std::nullopt;
    if (!readHighlight(o, step, r) || !readCaption(o, step, r)) return std::nullopt;
    return step;
}

}  // namespace

bool operator==(const LessonStep& a, const LessonStep& b) {
    return sameContext(a.context, b.context) && a.contextRef == b.contextRef && a.ownContext == b.ownContext &&
           a.method == b.method && a.layer == b.layer && a.head == b.head && a.view == b.view &&
           a.highlightQuery == b.highlightQuery && a.highlightChunk == b.highlightChunk && a.caption == b.caption;
}

int chunkCountOf(const ContextSpec& context) {
    const std::size_t ids = context.chunkIds ? context.chunkIds->size() : 0;
    return static_cast<int>(std::max(context.chunks.size(), ids));
}

QStringList lessonViews() {
    return {panels::kAttentionMap,   panels::kContextText,     panels::kLayerHeadGrid,
            panels::kEntropyByLayer, panels::kEntropySequence, panels::kPSweep};
}

const QList<std::pair<QString, QString>>& captionPlaceholders() {
    static const QList<std::pair<QString, QString>> names = [] {
        QList<std::pair<QString, QString>> n = {
            {QStringLiteral("method"), QStringLiteral("the method shown")},
            {QStringLiteral("tokens"), QStringLiteral("tokens in the context")},
            {QStringLiteral("chunks"), QStringLiteral("chunks in the context")},
            {QStringLiteral("k"), QStringLiteral("K, the chunks selective attention keeps")},
            {QStringLiteral("layer"), QStringLiteral("the selected layer")},
            {QStringLiteral("query_entropy"), QStringLiteral("mean query attention entropy shown (nats)")},
            {QStringLiteral("perplexity"), QStringLiteral("query perplexity shown")},
            {QStringLiteral("layer_entropy"), QStringLiteral("query entropy at the selected layer (nats)")},
            {QStringLiteral("entropy_rise"), QStringLiteral("parallel minus full query entropy (nats)")},
            {QStringLiteral("chunk_start_entropy"), QStringLiteral("entropy at the chunks' first tokens (nats)")},
            {QStringLiteral("chunk_body_entropy"), QStringLiteral("entropy at the chunks' other tokens (nats)")},
            {QStringLiteral("kept_chunks"), QStringLiteral("chunks selective attention keeps most often")},
            {QStringLiteral("sweep_max_p"), QStringLiteral("the largest P of the sweep")},
            {QStringLiteral("sweep_full_entropy"), QStringLiteral("full attention's entropy in the sweep")},
            {QStringLiteral("sweep_parallel_entropy"), QStringLiteral("parallel entropy at the largest P")},
        };
        for (Method m : kMethods) {
            const QString name = QString::fromLatin1(toString(m));
            n.append({name + QStringLiteral("_entropy"), QStringLiteral("mean query entropy under %1").arg(name)});
            n.append({name + QStringLiteral("_perplexity"), QStringLiteral("query perplexity under %1").arg(name)});
        }
        return n;
    }();
    return names;
}

QStringList unknownPlaceholders(const QString& caption) {
    QStringList unknown;
    for (auto it = placeholderPattern().globalMatch(caption); it.hasNext();) {
        const QString name = it.next().captured(1);
        const bool known = std::any_of(captionPlaceholders().begin(), captionPlaceholders().end(),
                                       [&](const auto& p) { return p.first == name; });
        if (!known && !unknown.contains(name)) unknown << name;
    }
    return unknown;
}

int sentenceCount(const QString& caption) {
    QString text = caption;
    text.replace(placeholderPattern(), QStringLiteral("x"));  // "{k}." ends a sentence, "2.5" cannot occur
    static const QRegularExpression end(QStringLiteral("[.!?]+(\\s|$)"));
    static const QRegularExpression endsWithStop(QStringLiteral("[.!?]+$"));
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty()) return 0;
    return static_cast<int>(trimmed.count(end)) + (endsWithStop.match(trimmed).hasMatch() ? 0 : 1);
}

QString fillCaption(const QString& caption, const QHash<QString, QString>& values) {
    QString out;
    qsizetype at = 0;
    for (auto it = placeholderPattern().globalMatch(caption); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        out += caption.mid(at, m.capturedStart() - at);
        out += values.value(m.captured(1), QStringLiteral("…"));
        at = m.capturedEnd();
    }
    return out + caption.mid(at);
}

std::optional<Lesson> parseLesson(const QByteArray& json, const QString& path, QString* error) {
    const QString name = QFileInfo(path).fileName();
    auto fail = [&](const QString& reason) {
        if (error) *error = QStringLiteral("%1: %2").arg(name, reason);
        return std::nullopt;
    };
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError)
        return fail(QStringLiteral("at byte %1: %2").arg(pe.offset).arg(pe.errorString()));
    const QJsonObject o = doc.object();
    if (!doc.isObject() || o.value(QStringLiteral("format")).toString() != QLatin1String(kLessonFormat))
        return fail(QStringLiteral("not an attnscope lesson (missing \"format\": \"%1\")").arg(kLessonFormat));
    if (o.value(QStringLiteral("version")).toInt(0) > kLessonVersion)
        return fail(QStringLiteral("lesson version %1 is newer than this attnscope understands (%2)")
                        .arg(o.value(QStringLiteral("version")).toInt())
                        .arg(kLessonVersion));
    Lesson lesson;
    lesson.title = o.value(QStringLiteral("title")).toString();
    const QDir base = QFileInfo(path).dir();
    QString reason;
    if (o.contains(QStringLiteral("context"))) {
        auto context = readContext(o.value(QStringLiteral("context")), base, &lesson.contextRef, &reason);
        if (!context) return fail(QStringLiteral("context: %1").arg(reason));
        lesson.context = std::move(*context);
    }
    const QJsonArray steps = o.value(QStringLiteral("steps")).toArray();
    if (steps.isEmpty()) return fail(QStringLiteral("steps: a lesson needs at least one step"));
    for (qsizetype i = 0; i < steps.size(); ++i) {
        auto step = readStep(steps[i], lesson, base, StepReader{QStringLiteral("steps[%1]").arg(i), &reason});
        if (!step) return fail(reason);
        lesson.steps << std::move(*step);
    }
    return lesson;
}

std::optional<Lesson> loadLesson(const QString& path, QString* error) {
    const auto bytes = readInputFile(path, QStringLiteral("lesson file"), error);
    if (!bytes) return std::nullopt;
    return parseLesson(*bytes, path, error);
}

QByteArray lessonToJson(const Lesson& lesson) {
    QJsonObject o{{QStringLiteral("format"), QLatin1String(kLessonFormat)},
                  {QStringLiteral("version"), kLessonVersion},
                  {QStringLiteral("title"), lesson.title}};
    o[QStringLiteral("context")] =
        lesson.contextRef.isEmpty() ? QJsonValue(contextSpecToQJson(lesson.context)) : QJsonValue(lesson.contextRef);
    QJsonArray steps;
    for (const LessonStep& s : lesson.steps) {
        QJsonObject step{{QStringLiteral("method"), methodToJson(s.method)},
                         {QStringLiteral("layer"), s.layer},
                         {QStringLiteral("head"), s.head},
                         {QStringLiteral("view"), s.view},
                         {QStringLiteral("caption"), s.caption}};
        if (s.ownContext)
            step[QStringLiteral("context")] =
                s.contextRef.isEmpty() ? QJsonValue(contextSpecToQJson(s.context)) : QJsonValue(s.contextRef);
        if (s.highlightQuery >= 0) step[QStringLiteral("highlight")] = QJsonObject{{"query_token", s.highlightQuery}};
        else if (s.highlightChunk >= 0) step[QStringLiteral("highlight")] = QJsonObject{{"chunk", s.highlightChunk}};
        steps.append(step);
    }
    o[QStringLiteral("steps")] = steps;
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

bool saveLesson(const QString& path, const Lesson& lesson, QString* error) {
    return widgets::writeTextFileAtomic(path, lessonToJson(lesson), error);
}

}  // namespace attnscope::gui
