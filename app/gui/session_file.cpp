#include "session_file.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

#include "context_text.h"
#include "figure_export.h"
#include "input_file.h"

namespace attnscope::gui {

namespace {

// Small validating reader: every accessor records the first problem and returns a default.
class Reader {
public:
    Reader(const QJsonObject& o, QString where, QString* error) : o_(o), where_(std::move(where)), error_(error) {}

    bool failed() const { return failed_; }
    void fail(const QString& message) {
        if (failed_) return;
        failed_ = true;
        if (error_) *error_ = message;
    }
    QString name(const char* key) const { return where_.isEmpty() ? QString::fromLatin1(key) : where_ + '.' + key; }

    bool has(const char* key) const { return o_.contains(QLatin1String(key)); }
    QString string(const char* key, const QString& fallback = {}) {
        auto v = o_.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull()) return fallback;
        if (!v.isString()) fail(QStringLiteral("'%1' must be a string").arg(name(key)));
        return v.toString(fallback);
    }
    bool boolean(const char* key, bool fallback) {
        auto v = o_.value(QLatin1String(key));
        if (v.isUndefined()) return fallback;
        if (!v.isBool()) fail(QStringLiteral("'%1' must be true or false").arg(name(key)));
        return v.toBool(fallback);
    }
    int integer(const char* key, int fallback, int lo, int hi) {
        auto v = o_.value(QLatin1String(key));
        if (v.isUndefined()) return fallback;
        double d = v.toDouble(std::numeric_limits<double>::quiet_NaN());
        // The range first: converting a double outside it to an integer is undefined.
        if (!v.isDouble() || !(d >= lo && d <= hi) || d != std::floor(d)) {
            fail(QStringLiteral("'%1' must be an integer from %2 to %3").arg(name(key)).arg(lo).arg(hi));
            return fallback;
        }
        return static_cast<int>(d);
    }
    QJsonObject object(const char* key) {
        auto v = o_.value(QLatin1String(key));
        if (v.isUndefined()) return {};
        if (!v.isObject()) fail(QStringLiteral("'%1' must be an object").arg(name(key)));
        return v.toObject();
    }
    QByteArray base64(const char* key) {
        QString s = string(key);
        if (s.isEmpty()) return {};
        auto r = QByteArray::fromBase64Encoding(s.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!r) fail(QStringLiteral("'%1' is not valid base64").arg(name(key)));
        return r.decoded;
    }

private:
    QJsonObject o_;
    QString where_;
    QString* error_;
    bool failed_ = false;
};

template <typename T>
bool parseChoice(Reader& r, const char* key, T& out, Result<T> (*parse)(const std::string&)) {
    if (!r.has(key)) return true;
    QString s = r.string(key);
    if (r.failed()) return false;
    auto v = parse(s.toStdString());
    if (!v) {
        r.fail(QStringLiteral("'%1': %2").arg(r.name(key), QString::fromStdString(v.error().message)));
        return false;
    }
    out = *v;
    return true;
}

}  // namespace

// The context is the engine's ContextSpec JSON (the CLI's context format); Qt's JSON and the
// engine's meet through the serialised text.
QJsonObject contextSpecToQJson(const ContextSpec& context) {
    return QJsonDocument::fromJson(QByteArray::fromStdString(context.toJson().dump())).object();
}

std::optional<ContextSpec> contextSpecFromQJson(const QJsonObject& json, QString* reason) {
    const std::string text = QJsonDocument(json).toJson(QJsonDocument::Compact).toStdString();
    auto parsed = Json::parse(text);
    auto context = parsed ? ContextSpec::fromJson(*parsed, {}, "context.") : Result<ContextSpec>(parsed.takeError());
    if (context) return std::move(*context);
    if (reason) *reason = fromStd(context.error().message);
    return std::nullopt;
}

QJsonObject methodToJson(const MethodSettings& m) {
    QJsonObject o;
    o[QStringLiteral("mode")] = QString::fromLatin1(toString(m.mode));
    o[QStringLiteral("sink")] = m.sink;
    o[QStringLiteral("selective")] = m.selective;
    o[QStringLiteral("select_k")] = m.selectK;
    o[QStringLiteral("score_top_n")] = m.scoreTopN;
    o[QStringLiteral("aggregation")] = QString::fromLatin1(toString(m.aggregation));
    o[QStringLiteral("positions")] = QString::fromLatin1(toString(m.positions));
    o[QStringLiteral("window_rule")] = QString::fromLatin1(toString(m.window));
    o[QStringLiteral("bos")] = QString::fromLatin1(toString(m.bos));
    return o;
}

std::optional<MethodSettings> methodFromJson(const QJsonObject& json, QString* error) {
    Reader r(json, QStringLiteral("method"), error);
    MethodSettings m;
    parseChoice(r, "mode", m.mode, &parseEncodingMode);
    m.sink = r.boolean("sink", m.sink);
    m.selective = r.boolean("selective", m.selective);
    m.selectK = r.integer("select_k", m.selectK, 1, 1024);
    m.scoreTopN = r.integer("score_top_n", m.scoreTopN, 0, 1 << 20);
    parseChoice(r, "aggregation", m.aggregation, &parseSelectAggregation);
    parseChoice(r, "positions", m.positions, &parsePositionPolicy);
    parseChoice(r, "window_rule", m.window, &parseWindowRule);  // absent (older files): physical
    parseChoice(r, "bos", m.bos, &parseBosPolicy);
    if (r.failed()) return std::nullopt;
    return m;
}

QJsonObject sessionToJson(const SessionState& s) {
    QJsonObject o;
    o[QStringLiteral("format")] = QString::fromLatin1(kSessionFormat);
    o[QStringLiteral("version")] = kSessionVersion;
    o[QStringLiteral("model")] = s.modelPath;
    o[QStringLiteral("context")] = contextSpecToQJson(s.context);
    o[QStringLiteral("method")] = methodToJson(s.method);

    QJsonObject sel;
    sel[QStringLiteral("layer")] = s.selection.layer;
    sel[QStringLiteral("head")] = s.selection.head;
    sel[QStringLiteral("query_token")] = s.selection.queryToken;
    sel[QStringLiteral("rows")] = s.selection.allTokenRows ? QStringLiteral("all") : QStringLiteral("query");
    o[QStringLiteral("selection")] = sel;

    QJsonObject sweep;
    QJsonArray parts;
    for (int p : s.sweep.parts) parts.append(p);
    sweep[QStringLiteral("parts")] = parts;
    sweep[QStringLiteral("query_tokens")] = s.sweep.queryTokens;
    o[QStringLiteral("sweep")] = sweep;

    QJsonObject view;
    view[QStringLiteral("presentation")] = s.presentation;
    view[QStringLiteral("log_scale")] = s.logScale;
    view[QStringLiteral("current_view")] = s.currentView;
    if (!s.windowGeometry.isEmpty())
        view[QStringLiteral("geometry")] = QString::fromLatin1(s.windowGeometry.toBase64());
    if (!s.windowState.isEmpty()) view[QStringLiteral("state")] = QString::fromLatin1(s.windowState.toBase64());
    o[QStringLiteral("view")] = view;
    return o;
}

bool isSessionJson(const QJsonObject& json) {
    return json.value(QStringLiteral("format")).toString() == QLatin1String(kSessionFormat);
}

bool isSessionJson(const Json& json) {
    const Json* format = json.find("format");
    return format && format->isString() && format->asString() == kSessionFormat;
}

namespace {

void readSelection(const QJsonObject& json, ViewSelection& s, QString* reason) {
    Reader sel(json, QStringLiteral("selection"), reason);
    s.layer = sel.integer("layer", 0, 0, 1 << 16);
    s.head = sel.integer("head", -1, -1, 1 << 16);
    s.queryToken = sel.integer("query_token", -1, -1, 1 << 24);
    const QString rows = sel.string("rows", s.allTokenRows ? QStringLiteral("all") : QStringLiteral("query"));
    if (rows != QLatin1String("query") && rows != QLatin1String("all"))
        sel.fail(QStringLiteral("'selection.rows' must be \"query\" or \"all\""));
    s.allTokenRows = rows == QLatin1String("all");
}

void readSweep(const QJsonObject& json, SweepSettings& s, QString* reason) {
    Reader sweep(json, QStringLiteral("sweep"), reason);
    const QJsonValue parts = json.value(QStringLiteral("parts"));
    if (!parts.isUndefined()) {
        s.parts.clear();
        if (!parts.isArray()) sweep.fail(QStringLiteral("'sweep.parts' must be an array of integers"));
        for (const auto& v : parts.toArray()) {
            const double d = v.toDouble(0);
            if (!v.isDouble() || d < 1 || d > SweepSettings::kMaxParts ||
                d != static_cast<double>(static_cast<int>(d))) {
                sweep.fail(QStringLiteral("'sweep.parts' must hold integers from 1 to 4096"));
                break;
            }
            s.parts.push_back(static_cast<int>(d));
        }
        if (s.parts.isEmpty()) sweep.fail(QStringLiteral("'sweep.parts' is empty"));
    }
    s.queryTokens = sweep.integer("query_tokens", s.queryTokens, 0, 1 << 20);
}

void readView(const QJsonObject& json, SessionState& s, QString* reason) {
    Reader view(json, QStringLiteral("view"), reason);
    s.presentation = view.boolean("presentation", false);
    s.logScale = view.boolean("log_scale", s.logScale);
    s.currentView = view.string("current_view");
    s.windowGeometry = view.base64("geometry");
    s.windowState = view.base64("state");
}

}  // namespace

std::optional<SessionState> sessionFromJson(const QJsonObject& json, const QString& file, QString* error) {
    QString reason;
    auto failWith = [&](const QString& why) -> std::optional<SessionState> {
        if (error) *error = file.isEmpty() ? why : QStringLiteral("%1: %2").arg(file, why);
        return std::nullopt;
    };
    if (!isSessionJson(json))
        return failWith(QStringLiteral("not an attnscope session (missing \"format\": \"%1\")").arg(kSessionFormat));
    Reader r(json, {}, &reason);
    const int version = r.integer("version", 0, 1, 1 << 20);
    if (r.failed()) return failWith(reason);
    if (version > kSessionVersion)
        return failWith(QStringLiteral("session version %1 is newer than this attnscope understands (%2)")
                            .arg(version)
                            .arg(kSessionVersion));

    SessionState s;
    s.modelPath = r.string("model");
    if (r.failed()) return failWith(reason);

    if (!json.value(QStringLiteral("context")).isObject())
        return failWith(QStringLiteral("'context' must be an object"));
    auto ctx = contextSpecFromQJson(json.value(QStringLiteral("context")).toObject(), &reason);
    if (!ctx) return failWith(reason);
    s.context = std::move(*ctx);

    const QJsonObject method = r.object("method");
    if (r.failed()) return failWith(reason);
    auto m = methodFromJson(method, &reason);
    if (!m) return failWith(reason);
    s.method = *m;

    readSelection(r.object("selection"), s.selection, &reason);
    if (r.failed() || !reason.isEmpty()) return failWith(reason);
    readSweep(r.object("sweep"), s.sweep, &reason);
    if (r.failed() || !reason.isEmpty()) return failWith(reason);
    readView(r.object("view"), s, &reason);
    if (r.failed() || !reason.isEmpty()) return failWith(reason);
    return s;
}

bool saveSession(const QString& path, const SessionState& state, QString* error) {
    return widgets::writeTextFileAtomic(path, QJsonDocument(sessionToJson(state)).toJson(QJsonDocument::Indented),
                                        error);
}

std::optional<SessionState> loadSession(const QString& path, QString* error) {
    const auto bytes = readInputFile(path, QStringLiteral("session file"), error);
    if (!bytes) return std::nullopt;
    const QString name = QFileInfo(path).fileName();
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &pe);
    if (pe.error != QJsonParseError::NoError) {
        if (error) *error = QStringLiteral("%1: at byte %2: %3").arg(name).arg(pe.offset).arg(pe.errorString());
        return std::nullopt;
    }
    if (!doc.isObject()) {
        if (error) *error = QStringLiteral("%1: a session must be a JSON object").arg(name);
        return std::nullopt;
    }
    return sessionFromJson(doc.object(), name, error);
}

}  // namespace attnscope::gui
