#include "context_text.h"

#include <QFileInfo>
#include <QRegularExpression>

#include "figure_export.h"
#include "input_file.h"
#include "session_file.h"

namespace attnscope::gui {

QString fromStd(const std::string& s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }
std::string toStd(const QString& s) { return s.toUtf8().toStdString(); }

namespace {

bool isSentenceEnd(const QString& t, qsizetype i) {
    // A cut after position i (exclusive end) ends a sentence if t[i-1] is . ! ? or a line break
    // and t[i] is whitespace.
    if (i <= 0 || i >= t.size()) return false;
    const QChar prev = t[i - 1];
    const bool endPunct = prev == u'.' || prev == u'!' || prev == u'?' || prev == u'"' || prev == u'\n';
    return endPunct && t[i].isSpace();
}

}  // namespace

QStringList splitIntoParts(const QString& input, int parts) {
    const QString text = input.trimmed();
    if (text.isEmpty()) return {};
    if (parts <= 1) return {text};
    const qsizetype n = text.size();
    QList<qsizetype> cuts;
    qsizetype last = 0;
    for (int k = 1; k < parts; ++k) {
        const qsizetype ideal = n * k / parts;
        const qsizetype window = std::max<qsizetype>(8, n / parts / 4);
        qsizetype best = -1, bestWs = -1;
        for (qsizetype d = 0; d <= window; ++d) {
            for (qsizetype c : {ideal - d, ideal + d}) {
                if (c <= last || c >= n) continue;
                if (best < 0 && isSentenceEnd(text, c)) best = c;
                if (bestWs < 0 && text[c].isSpace()) bestWs = c;
            }
            if (best >= 0) break;
        }
        if (best < 0) best = bestWs;
        if (best < 0) {  // no whitespace near: the nearest whitespace after `ideal`
            for (qsizetype c = std::max(ideal, last + 1); c < n; ++c)
                if (text[c].isSpace()) {
                    best = c;
                    break;
                }
        }
        if (best < 0) break;
        cuts.push_back(best);
        last = best;
    }
    QStringList out;
    qsizetype begin = 0;
    cuts.push_back(n);
    for (qsizetype c : cuts) {
        const QString piece = text.mid(begin, c - begin).trimmed();
        if (!piece.isEmpty()) out << piece;
        begin = c;
    }
    return out;
}

QStringList splitAtDelimiter(const QString& text, SplitDelimiter delimiter, const QString& custom) {
    QStringList pieces;
    switch (delimiter) {
        case SplitDelimiter::BlankLines:
            pieces = text.split(QRegularExpression(QStringLiteral("\\n[ \\t\\r]*\\n")));
            break;
        case SplitDelimiter::Lines: pieces = text.split(QRegularExpression(QStringLiteral("\\r?\\n"))); break;
        case SplitDelimiter::Custom:
            if (custom.isEmpty()) return {text.trimmed()};
            pieces = text.split(custom);
            break;
    }
    QStringList out;
    for (const QString& p : pieces) {
        const QString t = p.trimmed();
        if (!t.isEmpty()) out << t;
    }
    return out;
}

namespace {
const QString kPrefixMarker = QStringLiteral("### prefix");
const QString kChunkMarker = QStringLiteral("### chunk");
const QString kQueryMarker = QStringLiteral("### query");
}  // namespace

QString contextToPlainText(const ContextSpec& spec) {
    QString out;
    out += kPrefixMarker + '\n' + fromStd(spec.prefix) + "\n\n";
    for (const auto& c : spec.chunks) out += kChunkMarker + '\n' + fromStd(c) + "\n\n";
    out += kQueryMarker + '\n' + fromStd(spec.query) + '\n';
    return out;
}

ContextSpec contextFromPlainText(const QString& text) {
    ContextSpec spec;
    // Sectioned form written by contextToPlainText.
    static const QRegularExpression marker(QStringLiteral("^### (prefix|chunk|query)[ \\t]*$"),
                                           QRegularExpression::MultilineOption);
    if (marker.match(text).hasMatch()) {
        auto it = marker.globalMatch(text);
        QString kind;
        qsizetype bodyStart = -1;
        auto flush = [&](qsizetype end) {
            if (bodyStart < 0) return;
            const QString body = text.mid(bodyStart, end - bodyStart).trimmed();
            if (kind == QLatin1String("prefix")) spec.prefix = toStd(body);
            else if (kind == QLatin1String("chunk")) spec.chunks.push_back(toStd(body));
            else spec.query = toStd(body);
        };
        while (it.hasNext()) {
            const auto m = it.next();
            flush(m.capturedStart());
            kind = m.captured(1);
            bodyStart = m.capturedEnd();
        }
        flush(text.size());
        return spec;
    }
    // Paragraphs: the last is the query.
    QStringList paras = splitAtDelimiter(text, SplitDelimiter::BlankLines);
    if (!paras.isEmpty()) spec.query = toStd(paras.takeLast());
    for (const QString& p : paras) spec.chunks.push_back(toStd(p));
    return spec;
}

std::optional<ContextSpec> loadContextFile(const QString& path, QString* error) {
    const auto bytes = readInputFile(path, QStringLiteral("context"), error);
    if (!bytes) return std::nullopt;
    const QString name = QFileInfo(path).fileName();
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) {
        ContextSpec spec = contextFromPlainText(QString::fromUtf8(*bytes));
        if (spec.query.empty() && spec.chunks.empty()) {
            if (error) *error = QStringLiteral("%1: the file holds no text").arg(name);
            return std::nullopt;
        }
        return spec;
    }
    // JSON: read by the engine, as the CLI reads it (from a session, its context).
    const std::string file = toStd(name);
    auto json = Json::parse(std::string_view(bytes->constData(), static_cast<std::size_t>(bytes->size())), file);
    const Json* context = !json ? nullptr : isSessionJson(*json) ? json->find("context") : &*json;
    auto spec = json ? ContextSpec::fromJson(context ? *context : Json(), file) : Result<ContextSpec>(json.takeError());
    if (!spec) {
        if (error) *error = fromStd(spec.error().describe());
        return std::nullopt;
    }
    return std::move(*spec);
}

bool saveContextFile(const QString& path, const ContextSpec& spec, QString* error) {
    const bool json = path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive);
    const QString text = json ? fromStd(spec.toJson().dump(4)) + QLatin1Char('\n') : contextToPlainText(spec);
    return widgets::writeTextFileAtomic(path, text, error);
}

}  // namespace attnscope::gui
