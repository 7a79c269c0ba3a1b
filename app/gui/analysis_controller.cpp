#include "analysis_controller.h"

#include <QFileInfo>
#include <QJsonDocument>

#include <cmath>

#include "context_text.h"
#include "engine_worker.h"
#include "model/model_loader.h"
#include "session/session.h"
#include "session_file.h"
#include "tokenizer/tokenizer.h"

namespace attnscope::gui {

namespace {

// Bridges the backend's layer progress to the worker's throttled progress signal.
class ProgressAdapter : public Progress {
public:
    explicit ProgressAdapter(const std::function<void(int, int)>& f) : f_(f) {}
    void step(int done, int total) override {
        if (f_) f_(done, total);
    }

private:
    const std::function<void(int, int)>& f_;
};

struct Analysed {
    BundlePtr bundle;
    QString error;
    bool cancelled = false;
};

// Runs on the engine thread.
Analysed analyse(EngineContext& ctx, const ContextSpec& spec, const EncodingOptions& options, std::stop_token stop) {
    Analysed out;
    if (!ctx.session) {
        out.error = QObject::tr("No model is open.");
        return out;
    }
    Session& session = *ctx.session;
    auto plan = session.plan(spec, options);
    if (!plan) {
        out.error = fromStd(plan.error().describe());
        return out;
    }
    ProgressAdapter progress(ctx.progress);
    auto run = session.analyze(*plan, stop, &progress);
    if (!run) {
        out.cancelled = run.error().kind == ErrorKind::Cancelled;
        out.error = fromStd(run.error().describe());
        return out;
    }
    auto bundle = std::make_shared<AnalysisBundle>();
    bundle->plan = std::move(*plan);
    bundle->run = std::move(*run);
    bundle->sessionId = ctx.sessionId;
    const Tokenizer& tok = session.tokenizer();
    bundle->tokenTexts.reserve(bundle->plan.tokenCount());
    for (auto id : bundle->plan.ids) bundle->tokenTexts << fromStd(tok.tokenText(id));
    out.bundle = std::move(bundle);
    return out;
}

QString optionsKey(const EncodingOptions& o) {
    return QStringLiteral("%1|%2|%3|%4|%5|%6|%7")
        .arg(toString(o.mode))
        .arg(o.sinkPrefix)
        .arg(toString(o.positions))
        .arg(toString(o.bos))
        .arg(o.selective.topK)
        .arg(o.selective.scoreTopN)
        .arg(toString(o.selective.aggregation));
}

}  // namespace

AnalysisController::AnalysisController(EngineWorker* worker, QObject* parent) : QObject(parent), worker_(worker) {
    qRegisterMetaType<attnscope::AttentionTile>();
    contextKey_ = QString::fromUtf8(QJsonDocument(contextToJson(context_)).toJson(QJsonDocument::Compact));
}

AnalysisController::~AnalysisController() = default;

// ---------------------------------------------------------------- model

void AnalysisController::openModel(const QString& path) {
    const QString resolved = fromStd(resolveModelPath(toStd(path)));
    modelLoading_ = true;
    loadingPath_ = resolved;
    emit modelLoadStarted(resolved);
    worker_->submit(
        JobTag::Model, tr("Loading %1").arg(QFileInfo(resolved).fileName()), this,
        [this, resolved](EngineContext& ctx, std::stop_token stop) -> Deliver {
            QStringList notices;
            auto opened = Session::open(toStd(resolved), {}, [&notices](const std::string& line) { notices << fromStd(line); });
            if (stop.stop_requested()) return {};   // cancelled: keep the model we had
            if (!opened) {
                const QString message = fromStd(opened.error().describe());
                return [this, resolved, message] {
                    modelLoading_ = false;
                    emit modelFailed(resolved, message);
                };
            }
            ctx.session = std::move(*opened);
            const quint64 id = ++ctx.sessionId;
            const Session& s = *ctx.session;
            ModelInfo info;
            info.path = resolved;
            info.name = fromStd(s.model().config.name);
            info.summary = fromStd(s.model().config.summary());
            info.format = fromStd(s.model().format);
            info.backend = fromStd(ctx.session->backendName());
            info.parameters = s.model().parameterCount;
            info.layers = s.model().config.nLayers;
            info.heads = s.model().config.nHeads;
            for (bool local : s.model().config.layerIsLocal) info.localLayers.push_back(local);
            info.notices = notices;
            auto tok = s.tokenizerPtr();
            return [this, id, info, tok] {
                modelLoading_ = false;
                sessionId_ = id;
                model_ = info;
                tokenizer_ = tok;
                cache_.clear();
                sweepCache_.clear();
                sweepRows_.clear();
                current_.reset();
                methods_.clear();
                fullReference_.reset();
                methodsKey_.clear();
                methodsReady_ = false;
                selection_.layer = std::clamp(selection_.layer, 0, std::max(0, info.layers - 1));
                if (selection_.head >= info.heads) selection_.head = -1;
                emit modelLoaded();
                emit sweepChanged();
                scheduleAnalysis();
                scheduleMethods();
            };
        });
}

void AnalysisController::cancelModelLoad() {
    if (!modelLoading_) return;
    worker_->cancel(JobTag::Model);
    modelLoading_ = false;
    emit modelFailed(loadingPath_, tr("Loading was cancelled."));
}

// ---------------------------------------------------------------- inputs

void AnalysisController::setContext(const ContextSpec& context) {
    if (sameContext(context, context_)) return;
    context_ = context;
    contextKey_ = QString::fromUtf8(QJsonDocument(contextToJson(context_)).toJson(QJsonDocument::Compact));
    selection_.queryToken = -1;   // query tokens may have changed
    scheduleAnalysis();
    scheduleMethods();
}

void AnalysisController::setMethod(const MethodSettings& method) {
    if (method == method_) return;
    method_ = method;
    scheduleAnalysis();
    scheduleMethods();
}

void AnalysisController::setSelection(const ViewSelection& selection) {
    ViewSelection s = selection;
    if (hasModel()) {
        s.layer = std::clamp(s.layer, 0, std::max(0, model_.layers - 1));
        s.head = std::clamp(s.head, -1, model_.heads - 1);
    }
    if (current_) s.queryToken = std::clamp(s.queryToken, -1, current_->plan.queryCount() - 1);
    if (s == selection_) return;
    selection_ = s;
    emit selectionChanged();
}

// ---------------------------------------------------------------- analysis

QString AnalysisController::cacheKey(const EncodingOptions& options) const {
    return QString::number(sessionId_) + '#' + optionsKey(options) + '#' + contextKey_;
}

BundlePtr AnalysisController::cached(const QString& key) const {
    for (const auto& [k, b] : cache_)
        if (k == key) return b;
    return nullptr;
}

void AnalysisController::remember(const QString& key, BundlePtr bundle) {
    if (!bundle) return;
    cache_.remove_if([&](const auto& e) { return e.first == key; });
    cache_.emplace_front(key, std::move(bundle));
    while (cache_.size() > kCacheEntries) cache_.pop_back();
}

void AnalysisController::setCurrent(BundlePtr bundle, QString error) {
    current_ = std::move(bundle);
    currentError_ = std::move(error);
    analysisPending_ = false;
    if (current_) selection_.queryToken = std::clamp(selection_.queryToken, -1, current_->plan.queryCount() - 1);
    emit currentChanged();
}

void AnalysisController::scheduleAnalysis() {
    if (!hasModel()) return;
    const EncodingOptions options = method_.toOptions();
    const QString key = cacheKey(options);
    if (key == currentKey_ && (analysisPending_ || current_ || !currentError_.isEmpty())) return;
    currentKey_ = key;
    if (BundlePtr hit = cached(key)) {
        worker_->cancel(JobTag::Analysis);   // anything in flight is for an older configuration
        remember(key, hit);
        setCurrent(std::move(hit), {});
        return;
    }
    analysisPending_ = true;
    emit analysisStarted();
    const ContextSpec spec = context_;
    worker_->submit(JobTag::Analysis, tr("Analysing (%1)").arg(methodLabel(method_)), this,
                    [this, spec, options, key](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        Analysed a = analyse(ctx, spec, options, stop);
                        if (a.cancelled) return {};
                        return [this, key, a] {
                            if (a.bundle) remember(key, a.bundle);
                            setCurrent(a.bundle, a.error);
                        };
                    });
}

BundlePtr AnalysisController::methodBundle(Method m) const {
    auto it = methods_.find(m);
    return it == methods_.end() ? nullptr : it->second;
}

void AnalysisController::scheduleMethods() {
    if (!hasModel()) return;
    // The five lines depend on the context and on the shared settings (positions, BOS, K, score,
    // aggregation), not on which of them is active. The full reference follows the current sink
    // and BOS choice so that it has the same tokens as the current configuration.
    MethodSettings base = method_;
    base.mode = EncodingMode::Parallel;
    base.sink = base.selective = false;
    EncodingOptions fullRef = method_.toOptions();
    fullRef.mode = EncodingMode::Full;
    fullRef.positions = PositionPolicy::Sequential;
    fullRef.selective.topK = 0;
    const QString key = QString::number(sessionId_) + '#' + optionsKey(base.toOptions()) + '#' +
                        optionsKey(fullRef) + '#' + contextKey_;
    if (key == methodsKey_) return;
    methodsKey_ = key;

    std::vector<std::pair<Method, EncodingOptions>> todo;
    std::map<Method, BundlePtr> ready;
    for (Method m : kMethods) {
        const EncodingOptions o = methodOptions(m, method_);
        if (BundlePtr hit = cached(cacheKey(o))) ready[m] = hit;
        else todo.emplace_back(m, o);
    }
    BundlePtr fullHit = cached(cacheKey(fullRef));
    if (todo.empty() && fullHit) {
        worker_->cancel(JobTag::Methods);
        methods_ = std::move(ready);
        fullReference_ = fullHit;
        methodsReady_ = true;
        emit methodsChanged();
        return;
    }
    methodsReady_ = false;
    const ContextSpec spec = context_;
    QVector<QString> keys;
    for (const auto& [m, o] : todo) keys << cacheKey(o);
    const QString fullKey = cacheKey(fullRef);
    worker_->submit(
        JobTag::Methods, tr("Comparing methods"), this,
        [this, spec, todo, ready, fullRef, fullHit, keys, fullKey](EngineContext& ctx, std::stop_token stop) -> Deliver {
            auto results = ready;
            std::vector<std::pair<QString, BundlePtr>> fresh;
            const int total = static_cast<int>(todo.size()) + (fullHit ? 0 : 1);
            int done = 0;
            for (std::size_t i = 0; i < todo.size(); ++i) {
                ctx.yieldToInteractive();
                if (stop.stop_requested()) return {};
                Analysed a = analyse(ctx, spec, todo[i].second, stop);
                if (a.cancelled) return {};
                results[todo[i].first] = a.bundle;   // null on error: the line is left out
                if (a.bundle) fresh.emplace_back(keys[static_cast<int>(i)], a.bundle);
                if (ctx.progress) ctx.progress(++done, total);
            }
            BundlePtr full = fullHit;
            if (!full) {
                ctx.yieldToInteractive();
                Analysed a = analyse(ctx, spec, fullRef, stop);
                if (a.cancelled) return {};
                full = a.bundle;
                if (full) fresh.emplace_back(fullKey, full);
            }
            return [this, results, full, fresh] {
                for (const auto& [k, b] : fresh) remember(k, b);
                methods_ = results;
                fullReference_ = full;
                methodsReady_ = true;
                emit methodsChanged();
            };
        });
}

// ---------------------------------------------------------------- tiles

namespace {
bool sameRequest(const AttentionTileRequest& a, const AttentionTileRequest& b) {
    return a.layer == b.layer && a.head == b.head && a.rowBegin == b.rowBegin && a.rowEnd == b.rowEnd &&
           a.colBegin == b.colBegin && a.colEnd == b.colEnd && a.outRows == b.outRows && a.outCols == b.outCols &&
           a.pooling == b.pooling;
}
}  // namespace

const AttentionTile* AnalysisController::cachedTile(const BundlePtr& bundle, const AttentionTileRequest& request) const {
    for (const CachedTile& c : tileCache_)
        if (c.bundle.lock() == bundle && sameRequest(c.request, request)) return &c.tile;
    return nullptr;
}

void AnalysisController::rememberTile(const BundlePtr& bundle, const AttentionTile& tile) {
    // Keyed by the request as asked (the tile's own request is as served, after clamping).
    std::erase_if(tileCache_, [](const CachedTile& c) { return c.bundle.expired(); });
    tileCache_.push_front(CachedTile{bundle, tile.request, tile});
    while (tileCache_.size() > kTileCacheEntries) tileCache_.pop_back();
}

void AnalysisController::requestTile(int rowBegin, int rowEnd, int colBegin, int colEnd, int outRows, int outCols,
                                     bool overview) {
    if (!current_ || !current_->run || !current_->run->kept) return;
    AttentionTileRequest req;
    req.layer = selection_.layer;
    req.head = selection_.head;
    req.rowBegin = rowBegin;
    req.rowEnd = rowEnd;
    req.colBegin = colBegin;
    req.colEnd = colEnd;
    req.outRows = std::max(1, outRows);
    req.outCols = std::max(1, outCols);
    BundlePtr bundle = current_;
    const JobTag tag = overview ? JobTag::Tile : JobTag::TileDetail;
    if (const AttentionTile* hit = cachedTile(bundle, req)) {
        worker_->cancel(tag);   // anything in flight is for an older window
        emit tileReady(*hit);
        return;
    }
    worker_->submit(tag, tr("Attention map"), this,
                    [this, bundle, req](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        if (!ctx.session || ctx.sessionId != bundle->sessionId) return {};
                        auto tile = ctx.session->tile(*bundle->run, req, stop);
                        if (!tile) {
                            if (tile.error().kind != ErrorKind::Cancelled)
                                qWarning("attnscope: attention tile: %s", tile.error().describe().c_str());
                            return {};
                        }
                        AttentionTile t = std::move(*tile);
                        t.request = req;   // cached under the request as asked (served sizes may be clamped)
                        return [this, bundle, t = std::move(t)] {
                            rememberTile(bundle, t);
                            if (bundle != current_) return;
                            emit tileReady(t);
                        };
                    });
}

void AnalysisController::requestTokenAttention() {
    if (!current_ || !current_->run || !current_->run->kept) return;
    const EncodingPlan& plan = current_->plan;
    const int n = plan.tokenCount();
    if (n == 0 || plan.queryCount() == 0) return;
    AttentionTileRequest req;
    req.layer = selection_.layer;
    req.head = selection_.head;
    const int q = selection_.queryToken;
    req.rowBegin = q >= 0 ? plan.queryBegin + q : plan.queryBegin;
    req.rowEnd = q >= 0 ? req.rowBegin + 1 : n;
    req.colBegin = 0;
    req.colEnd = n;
    req.outRows = 1;
    req.outCols = n;
    req.pooling = TilePooling::Mean;
    QString who = q >= 0 ? tr("query token %1 (“%2”)").arg(q).arg(current_->tokenTexts.value(plan.queryBegin + q).trimmed())
                         : tr("all query tokens (mean)");
    const QString heads = selection_.head >= 0 ? tr("head %1").arg(selection_.head) : tr("mean of heads");
    const QString caption = tr("Attention from %1 · layer %2 · %3").arg(who).arg(selection_.layer).arg(heads);
    BundlePtr bundle = current_;
    // One value per token (outCols = n, so every column bin is one token).
    auto weightsOf = [n](const AttentionTile& tile) {
        QVector<double> w(n, 0.0);
        for (int c = 0; c < tile.cols; ++c)
            for (int t = tile.colEdges[c]; t < tile.colEdges[c + 1] && t < n; ++t) w[t] = tile.at(0, c);
        return w;
    };
    if (const AttentionTile* hit = cachedTile(bundle, req)) {
        worker_->cancel(JobTag::TokenAttention);
        emit tokenAttentionReady(weightsOf(*hit), caption);
        return;
    }
    worker_->submit(JobTag::TokenAttention, tr("Token attention"), this,
                    [this, bundle, req, caption, weightsOf](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        if (!ctx.session || ctx.sessionId != bundle->sessionId) return {};
                        auto tile = ctx.session->tile(*bundle->run, req, stop);
                        if (!tile) return {};
                        AttentionTile t = std::move(*tile);
                        t.request = req;
                        return [this, bundle, t = std::move(t), caption, weightsOf] {
                            rememberTile(bundle, t);
                            if (bundle != current_) return;
                            emit tokenAttentionReady(weightsOf(t), caption);
                        };
                    });
}

// ---------------------------------------------------------------- sweep

QString AnalysisController::sweepText() const {
    QStringList parts;
    for (const auto& c : context_.chunks) parts << fromStd(c).trimmed();
    parts << fromStd(context_.query).trimmed();
    parts.removeAll(QString());
    return parts.join(QLatin1Char(' '));
}

void AnalysisController::runSweep(const SweepSettings& settings) {
    if (!hasModel()) return;
    sweepSettings_ = settings;
    SweepOptions options;
    options.queryTokens = settings.queryTokens;
    if (options.queryTokens <= 0) {   // keep the user's query as the sweep's query
        options.queryTokens = 1;
        if (tokenizer_)
            if (auto ids = tokenizer_->encode(context_.query); ids && !ids->empty())
                options.queryTokens = static_cast<int>(ids->size());
    }
    options.sinkText = context_.prefix;
    options.settings = method_;   // K, score, positions and BOS as on the toolbar
    const std::string text = toStd(sweepText());
    QStringList partsKey;
    for (int p : settings.parts) partsKey << QString::number(p);
    const QString key = QString::number(sessionId_) + '#' + partsKey.join(',') + '#' +
                        QString::number(options.queryTokens) + '#' + optionsKey(methodOptions(Method::Both, method_)) + '#' +
                        fromStd(options.sinkText) + '#' +
                        fromStd(text);
    if (auto it = sweepCache_.constFind(key); it != sweepCache_.constEnd()) {
        worker_->cancel(JobTag::Sweep);
        sweepRows_ = *it;
        sweepRunning_ = false;
        emit sweepChanged();
        return;
    }
    sweepRows_.clear();
    sweepRunning_ = true;
    emit sweepChanged();
    const std::vector<int> parts(settings.parts.begin(), settings.parts.end());
    worker_->submit(
        JobTag::Sweep, tr("P sweep"), this,
        [this, options, text, parts, key](EngineContext& ctx, std::stop_token stop) -> Deliver {
            std::vector<SweepRow> rows;
            const quint64 sessionId = ctx.sessionId;
            for (std::size_t i = 0; i < parts.size(); ++i) {
                ctx.yieldToInteractive();   // keep toggles responsive while the sweep runs
                if (stop.stop_requested()) return {};
                if (!ctx.session || ctx.sessionId != sessionId) return {};
                SweepOptions one = options;
                one.parts = {parts[i]};
                const int total = static_cast<int>(parts.size());
                auto r = attnscope::runSweep(*ctx.session, text, one, stop, [&](int d, int t) {
                    if (ctx.progress && t > 0) ctx.progress(static_cast<int>(i) * 1000 + d * 1000 / t, total * 1000);
                });
                if (!r) {
                    if (r.error().kind == ErrorKind::Cancelled) return {};
                    const QString message = fromStd(r.error().describe());
                    // Rows done so far stay (e.g. the text is too short for the largest P).
                    const QString where = rows.empty() ? message : tr("stopped at P = %1: %2").arg(parts[i]).arg(message);
                    return [this, where, rows] {
                        sweepRunning_ = false;
                        sweepRows_ = rows;
                        emit sweepChanged();
                        emit sweepFailed(where);
                    };
                }
                rows.insert(rows.end(), r->begin(), r->end());
                if (i + 1 < parts.size())
                    ctx.post([this, rows] {
                        sweepRows_ = rows;
                        emit sweepChanged();
                    });
            }
            return [this, rows, key] {
                sweepRows_ = rows;
                sweepRunning_ = false;
                sweepCache_.insert(key, rows);
                emit sweepChanged();
            };
        });
}

void AnalysisController::cancelSweep() {
    if (!sweepRunning_) return;
    worker_->cancel(JobTag::Sweep);
    sweepRunning_ = false;
    emit sweepChanged();
}

void AnalysisController::cancelAll() {
    for (int t = 0; t < static_cast<int>(JobTag::Count); ++t) worker_->cancel(static_cast<JobTag>(t));
    modelLoading_ = false;
    sweepRunning_ = false;
    analysisPending_ = false;
}

}  // namespace attnscope::gui
