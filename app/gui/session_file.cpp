#include "session_file.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

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
        if (!v.isDouble() || d != static_cast<double>(static_cast<long long>(d)) || d < lo || d > hi) {
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
    std::optional<std::vector<std::int32_t>> ids(const char* key) {
        auto v = o_.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull()) return std::nullopt;
        return idArray(v, name(key));
    }
    std::optional<std::vector<std::int32_t>> idArray(const QJsonValue& v, const QString& label) {
        if (!v.isArray()) {
            fail(QStringLiteral("'%1' must be an array of token ids").arg(label));
            return std::nullopt;
        }
        std::vector<std::int32_t> out;
        for (const auto& x : v.toArray()) {
            double d = x.toDouble(-1);
            if (!x.isDouble() || d < 0 || d > 2147483647.0 || d != static_cast<double>(static_cast<long long>(d))) {
                fail(QStringLiteral("'%1' must hold non-negative integer token ids").arg(label));
                return std::nullopt;
            }
            out.push_back(static_cast<std::int32_t>(d));
        }
        return out;
    }
    const QJsonObject& json() const { return o_; }

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

QJsonArray idsToJson(const std::vector<std::int32_t>& ids) {
    QJsonArray a;
    for (auto id : ids) a.append(id);
    return a;
}

}  // namespace

QJsonObject contextToJson(const ContextSpec& c) {
    QJsonObject o;
    o[QStringLiteral("prefix")] = QString::fromStdString(c.prefix);
    QJsonArray chunks;
    for (const auto& s : c.chunks) chunks.append(QString::fromStdString(s));
    o[QStringLiteral("chunks")] = chunks;
    o[QStringLiteral("query")] = QString::fromStdString(c.query);
    if (c.prefixIds) o[QStringLiteral("prefix_ids")] = idsToJson(*c.prefixIds);
    if (c.chunkIds) {
        QJsonArray a;
        for (const auto& ids : *c.chunkIds) a.append(idsToJson(ids));
        o[QStringLiteral("chunk_ids")] = a;
    }
    if (c.queryIds) o[QStringLiteral("query_ids")] = idsToJson(*c.queryIds);
    return o;
}

std::optional<ContextSpec> contextFromJson(const QJsonObject& json, QString* error) {
    Reader r(json, QStringLiteral("context"), error);
    ContextSpec c;
    c.prefix = r.string("prefix").toStdString();
    c.query = r.string("query").toStdString();
    const QJsonValue chunks = json.value(QStringLiteral("chunks"));
    if (!chunks.isUndefined()) {
        if (!chunks.isArray()) r.fail(QStringLiteral("'context.chunks' must be an array of strings"));
        for (const auto& v : chunks.toArray()) {
            if (!v.isString()) {
                r.fail(QStringLiteral("'context.chunks' must be an array of strings"));
                break;
            }
            c.chunks.push_back(v.toString().toStdString());
        }
    }
    c.prefixIds = r.ids("prefix_ids");
    c.queryIds = r.ids("query_ids");
    const QJsonValue chunkIds = json.value(QStringLiteral("chunk_ids"));
    if (!chunkIds.isUndefined() && !chunkIds.isNull()) {
        if (!chunkIds.isArray()) r.fail(QStringLiteral("'context.chunk_ids' must be an array of id arrays"));
        std::vector<std::vector<std::int32_t>> all;
        for (const auto& v : chunkIds.toArray()) {
            auto ids = r.idArray(v, QStringLiteral("context.chunk_ids"));
            if (!ids) break;
            all.push_back(std::move(*ids));
        }
        c.chunkIds = std::move(all);
    }
    if (!r.failed() && !r.has("query") && !r.has("query_ids"))
        r.fail(QStringLiteral("the context has no \"query\""));
    if (r.failed()) return std::nullopt;
    return c;
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
    parseChoice(r, "bos", m.bos, &parseBosPolicy);
    if (r.failed()) return std::nullopt;
    return m;
}

QJsonObject sessionToJson(const SessionState& s) {
    QJsonObject o;
    o[QStringLiteral("format")] = QString::fromLatin1(kSessionFormat);
    o[QStringLiteral("version")] = kSessionVersion;
    o[QStringLiteral("model")] = s.modelPath;
    o[QStringLiteral("context")] = contextToJson(s.context);
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

    if (!json.value(QStringLiteral("context")).isObject()) return failWith(QStringLiteral("'context' must be an object"));
    auto ctx = contextFromJson(json.value(QStringLiteral("context")).toObject(), &reason);
    if (!ctx) return failWith(reason);
    s.context = std::move(*ctx);

    const QJsonObject method = r.object("method");
    if (r.failed()) return failWith(reason);
    auto m = methodFromJson(method, &reason);
    if (!m) return failWith(reason);
    s.method = *m;

    Reader sel(r.object("selection"), QStringLiteral("selection"), &reason);
    s.selection.layer = sel.integer("layer", 0, 0, 1 << 16);
    s.selection.head = sel.integer("head", -1, -1, 1 << 16);
    s.selection.queryToken = sel.integer("query_token", -1, -1, 1 << 24);
    const QString rows = sel.string("rows", s.selection.allTokenRows ? QStringLiteral("all") : QStringLiteral("query"));
    if (rows != QLatin1String("query") && rows != QLatin1String("all"))
        sel.fail(QStringLiteral("'selection.rows' must be \"query\" or \"all\""));
    s.selection.allTokenRows = rows == QLatin1String("all");
    if (r.failed() || sel.failed()) return failWith(reason);

    Reader sweep(r.object("sweep"), QStringLiteral("sweep"), &reason);
    const QJsonValue parts = sweep.json().value(QStringLiteral("parts"));
    if (!parts.isUndefined()) {
        s.sweep.parts.clear();
        if (!parts.isArray()) sweep.fail(QStringLiteral("'sweep.parts' must be an array of integers"));
        for (const auto& v : parts.toArray()) {
            const double d = v.toDouble(0);
            if (!v.isDouble() || d < 1 || d > 4096 || d != static_cast<double>(static_cast<int>(d))) {
                sweep.fail(QStringLiteral("'sweep.parts' must hold integers from 1 to 4096"));
                break;
            }
            s.sweep.parts.push_back(static_cast<int>(d));
        }
        if (s.sweep.parts.isEmpty()) sweep.fail(QStringLiteral("'sweep.parts' is empty"));
    }
    s.sweep.queryTokens = sweep.integer("query_tokens", s.sweep.queryTokens, 0, 1 << 20);
    if (r.failed() || sweep.failed()) return failWith(reason);

    Reader view(r.object("view"), QStringLiteral("view"), &reason);
    s.presentation = view.boolean("presentation", false);
    s.logScale = view.boolean("log_scale", s.logScale);
    s.currentView = view.string("current_view");
    s.windowGeometry = view.base64("geometry");
    s.windowState = view.base64("state");
    if (r.failed() || view.failed()) return failWith(reason);
    return s;
}

bool saveSession(const QString& path, const SessionState& state, QString* error) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        if (error) *error = QStringLiteral("%1: cannot write (%2)").arg(path, f.errorString());
        return false;
    }
    f.write(QJsonDocument(sessionToJson(state)).toJson(QJsonDocument::Indented));
    if (!f.commit()) {
        if (error) *error = QStringLiteral("%1: cannot write (%2)").arg(path, f.errorString());
        return false;
    }
    return true;
}

std::optional<SessionState> loadSession(const QString& path, QString* error) {
    QFile f(path);
    const QString name = QFileInfo(path).fileName();
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QStringLiteral("%1: cannot open (%2)").arg(path, f.errorString());
        return std::nullopt;
    }
    if (f.size() > (64 << 20)) {
        if (error) *error = QStringLiteral("%1: too large for a session file (%2 bytes)").arg(name).arg(f.size());
        return std::nullopt;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
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
