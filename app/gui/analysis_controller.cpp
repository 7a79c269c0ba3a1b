#include "analysis_controller.h"

#include <QFileInfo>

#include "context_text.h"
#include "engine_worker.h"
#include "model/model_loader.h"
#include "session/session.h"
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
    bundle->planHash = bundle->plan.hash();
    const Tokenizer* tok = session.tokenizer();  // null for a model without one: show the ids
    bundle->tokenTexts.reserve(bundle->plan.tokenCount());
    for (auto id : bundle->plan.ids)
        bundle->tokenTexts << (tok ? fromStd(tok->tokenText(id)) : QStringLiteral("#%1").arg(id));
    out.bundle = std::move(bundle);
    return out;
}

ModelInfo modelInfo(const Session& s, const QString& path, const QStringList& notices) {
    ModelInfo info;
    info.path = path;
    info.name = fromStd(s.model().config.name);
    info.summary = fromStd(s.model().config.summary());
    info.format = fromStd(s.model().format);
    info.backend = fromStd(s.backendName());
    info.parameters = s.model().parameterCount;
    info.layers = s.model().config.nLayers;
    info.heads = s.model().config.nHeads;
    for (bool local : s.model().config.layerIsLocal) info.localLayers.push_back(local);
    info.slidingWindow = s.model().config.hasSlidingWindowLayers();
    info.notices = notices;
    return info;
}

// Why an opened model cannot be used by the app, or empty. The app reads the context as text, so a
// model without a tokenizer is refused with a message naming the file or folder and what is missing.
QString unusableModelReason(const Session& s, const QString& path) {
    if (s.tokenizerPtr()) return {};
    const bool folder = s.model().format != "gguf";
    return folder ? QObject::tr(
                        "%1: the folder has no tokenizer.model, and attnscope needs the model's tokenizer to "
                        "read the context (copy the model's SentencePiece tokenizer.model into the folder)")
                        .arg(path)
                  : QObject::tr(
                        "%1: the file holds no tokenizer vocabulary attnscope can use, and attnscope needs "
                        "the model's tokenizer to read the context")
                        .arg(path);
}

// Keeps the first `n` entries of a most-recent-first list.
template <typename List>
void trim(List& list, std::size_t n) {
    while (list.size() > n) list.pop_back();
}

}  // namespace

AnalysisController::AnalysisController(EngineWorker* worker, QObject* parent) : QObject(parent), worker_(worker) {
    qRegisterMetaType<attnscope::AttentionTile>();
    contextId_ = contextIdOf(context_);
}

AnalysisController::~AnalysisController() = default;

// ---------------------------------------------------------------- model

void AnalysisController::openModel(const QString& path) {
    const QString resolved = fromStd(resolveModelPath(toStd(path)));
    modelLoading_ = true;
    loadingPath_ = resolved;
    emit modelLoadStarted(resolved);
    worker_->submit(JobTag::Model, tr("Loading %1").arg(QFileInfo(resolved).fileName()), this,
                    [this, resolved](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        QStringList notices;
                        auto opened = Session::open(
                            toStd(resolved), {}, [&notices](const std::string& line) { notices << fromStd(line); },
                            stop);
                        if (stop.stop_requested()) return {};  // cancelled: keep the model we had
                        const QString message =
                            opened ? unusableModelReason(**opened, resolved) : fromStd(opened.error().describe());
                        if (!message.isEmpty()) {
                            return [this, resolved, message] {
                                modelLoading_ = false;
                                emit modelFailed(resolved, message);
                            };
                        }
                        ctx.session = std::move(*opened);
                        const quint64 id = ++ctx.sessionId;
                        const ModelInfo info = modelInfo(*ctx.session, resolved, notices);
                        auto tok = ctx.session->tokenizerPtr();
                        return [this, id, info, tok] {
                            modelLoading_ = false;
                            sessionId_ = id;
                            model_ = info;
                            tokenizer_ = tok;
                            cache_.clear();
                            planHashes_.clear();
                            sweepCache_.clear();
                            sweepRows_.clear();
                            current_.reset();
                            methods_.clear();
                            fullReference_.reset();
                            methodsRequests_.clear();
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
    worker_->stop(JobTag::Model);  // a load that already replaced the session still delivers it
    modelLoading_ = false;
    emit modelLoadCancelled(loadingPath_);
}

// ---------------------------------------------------------------- inputs

void AnalysisController::setContext(const ContextSpec& context) {
    if (sameContext(context, context_)) return;
    context_ = context;
    contextId_ = contextIdOf(context_);
    selection_.queryToken = -1;  // query tokens may have changed
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

quint64 AnalysisController::contextIdOf(const ContextSpec& context) {
    auto it = std::find_if(contextIds_.begin(), contextIds_.end(),
                           [&](const auto& e) { return sameContext(e.first, context); });
    const quint64 id = it != contextIds_.end() ? it->second : nextContextId_++;
    if (it != contextIds_.end()) contextIds_.erase(it);
    contextIds_.emplace_front(context, id);
    trim(contextIds_, kContextIds);
    return id;
}

BundlePtr AnalysisController::cached(const Request& request) const {
    for (const auto& [r, hash] : planHashes_)
        if (r == request) {
            for (const BundlePtr& b : cache_)
                if (b->planHash == hash && b->sessionId == request.sessionId) return b;
            return nullptr;
        }
    return nullptr;
}

BundlePtr AnalysisController::remember(const Request& request, BundlePtr bundle) {
    if (!bundle) return nullptr;
    std::erase_if(planHashes_, [&](const auto& e) { return e.first == request; });
    planHashes_.emplace_front(request, bundle->planHash);
    trim(planHashes_, kPlanHashEntries);
    auto same = std::find_if(cache_.begin(), cache_.end(), [&](const BundlePtr& b) {
        return b->planHash == bundle->planHash && b->sessionId == bundle->sessionId;
    });
    if (same != cache_.end()) {
        bundle = *same;  // the same plan as a cached result: keep that one (and its tiles)
        cache_.erase(same);
    }
    cache_.push_front(bundle);
    trim(cache_, kCacheEntries);
    return bundle;
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
    const Request req = request(method_);
    if (currentRequest_ == req && (analysisPending_ || current_ || !currentError_.isEmpty())) return;
    currentRequest_ = req;
    if (BundlePtr hit = cached(req)) {
        worker_->cancel(JobTag::Analysis);  // anything in flight is for an older configuration
        setCurrent(remember(req, hit), {});
        return;
    }
    analysisPending_ = true;
    emit analysisStarted();
    const ContextSpec spec = context_;
    worker_->submit(JobTag::Analysis, tr("Analysing (%1)").arg(methodLabel(method_, model_.slidingWindow)), this,
                    [this, spec, req](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        Analysed a = analyse(ctx, spec, req.options, stop);
                        if (a.cancelled) return {};
                        return [this, req, a] { setCurrent(remember(req, a.bundle), a.error); };
                    });
}

BundlePtr AnalysisController::methodBundle(Method m) const {
    auto it = methods_.find(m);
    return it == methods_.end() ? nullptr : it->second;
}

void AnalysisController::setMethods(const std::vector<BundlePtr>& bundles) {
    methods_.clear();
    for (std::size_t i = 0; i < std::size(kMethods); ++i) methods_[kMethods[i]] = bundles[i];  // null: left out
    fullReference_ = bundles.back();
    methodsReady_ = true;
    emit methodsChanged();
}

void AnalysisController::scheduleMethods() {
    if (!hasModel()) return;
    // The five lines depend on the context and on the shared settings (positions, BOS, K, score,
    // aggregation), not on which of them is active. The full reference follows the current sink
    // and BOS choice so that it has the same tokens as the current configuration.
    std::vector<Request> wanted;
    for (Method m : kMethods) wanted.push_back(request(settingsFor(m, method_)));
    MethodSettings fullRef = method_;
    fullRef.mode = EncodingMode::Full;
    fullRef.selective = false;
    wanted.push_back(request(fullRef));
    if (wanted == methodsRequests_) return;
    methodsRequests_ = wanted;

    // Requests not cached yet, each once (with the sink on, the full line is the full reference).
    std::vector<BundlePtr> ready(wanted.size());
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < wanted.size(); ++i)
        if (!(ready[i] = cached(wanted[i])) &&
            std::find(wanted.begin(), wanted.begin() + i, wanted[i]) == wanted.begin() + i)
            todo.push_back(i);
    if (todo.empty()) {
        worker_->cancel(JobTag::Methods);
        setMethods(ready);
        return;
    }
    methodsReady_ = false;
    const ContextSpec spec = context_;
    worker_->submit(JobTag::Methods, tr("Comparing methods"), this,
                    [this, spec, wanted, ready, todo](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        auto results = ready;
                        int done = 0;
                        for (std::size_t i : todo) {
                            ctx.yieldToInteractive();
                            if (stop.stop_requested()) return {};
                            Analysed a = analyse(ctx, spec, wanted[i].options, stop);
                            if (a.cancelled) return {};
                            results[i] = a.bundle;  // null on error: the line is left out
                            if (ctx.progress) ctx.progress(++done, static_cast<int>(todo.size()));
                        }
                        return [this, wanted, results, todo]() mutable {
                            for (std::size_t i : todo) results[i] = remember(wanted[i], results[i]);
                            for (std::size_t i = 0; i < wanted.size(); ++i)  // the repeated requests
                                if (!results[i]) results[i] = cached(wanted[i]);
                            setMethods(results);
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

const AttentionTile* AnalysisController::cachedTile(const BundlePtr& bundle,
                                                    const AttentionTileRequest& request) const {
    for (const CachedTile& c : tileCache_)
        if (c.bundle.lock() == bundle && sameRequest(c.request, request)) return &c.tile;
    return nullptr;
}

void AnalysisController::rememberTile(const BundlePtr& bundle, const AttentionTile& tile) {
    // Keyed by the request as asked (the tile's own request is as served, after clamping).
    std::erase_if(tileCache_, [](const CachedTile& c) { return c.bundle.expired(); });
    tileCache_.push_front(CachedTile{bundle, tile.request, tile});
    trim(tileCache_, kTileCacheEntries);
}

void AnalysisController::requestCurrentTile(JobTag tag, const QString& label, const AttentionTileRequest& req,
                                            std::function<void(const AttentionTile&)> deliver) {
    BundlePtr bundle = current_;
    if (const AttentionTile* hit = cachedTile(bundle, req)) {
        worker_->cancel(tag);  // anything in flight is for an older request
        deliver(*hit);
        return;
    }
    worker_->submit(tag, label, this,
                    [this, bundle, req, deliver](EngineContext& ctx, std::stop_token stop) -> Deliver {
                        if (!ctx.session || ctx.sessionId != bundle->sessionId) return {};
                        auto tile = ctx.session->tile(*bundle->run, req, stop);
                        if (!tile) {
                            if (tile.error().kind != ErrorKind::Cancelled)
                                qWarning("attnscope: attention tile: %s", tile.error().describe().c_str());
                            return {};
                        }
                        AttentionTile t = std::move(*tile);
                        t.request = req;  // cached under the request as asked (served sizes may be clamped)
                        return [this, bundle, t = std::move(t), deliver] {
                            rememberTile(bundle, t);
                            if (bundle == current_) deliver(t);
                        };
                    });
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
    requestCurrentTile(overview ? JobTag::Tile : JobTag::TileDetail, tr("Attention map"), req,
                       [this](const AttentionTile& tile) { emit tileReady(tile); });
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
    QString who =
        q >= 0 ? tr("query token %1 (“%2”)").arg(q).arg(current_->tokenTexts.value(plan.queryBegin + q).trimmed())
               : tr("all query tokens (mean)");
    const QString heads = selection_.head >= 0 ? tr("head %1").arg(selection_.head) : tr("mean of heads");
    const QString caption = tr("Attention from %1 · layer %2 · %3").arg(who).arg(selection_.layer).arg(heads);
    requestCurrentTile(JobTag::TokenAttention, tr("Token attention"), req,
                       [this, n, caption](const AttentionTile& tile) {
                           // One value per token (outCols = n, so every column bin is one token).
                           QVector<double> w(n, 0.0);
                           for (int c = 0; c < tile.cols; ++c)
                               for (int t = tile.colEdges[c]; t < tile.colEdges[c + 1] && t < n; ++t)
                                   w[t] = tile.at(0, c);
                           emit tokenAttentionReady(w, caption);
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

SweepOptions AnalysisController::sweepOptions(const SweepSettings& settings) const {
    SweepOptions options;
    options.parts.assign(settings.parts.begin(), settings.parts.end());
    options.queryTokens = settings.queryTokens;
    if (options.queryTokens <= 0) {  // keep the user's query as the sweep's query
        options.queryTokens = 1;
        if (tokenizer_)
            if (auto ids = tokenizer_->encode(context_.query); ids && !ids->empty())
                options.queryTokens = static_cast<int>(ids->size());
    }
    options.sinkText = context_.prefix;
    options.settings = method_;  // K, score, positions and BOS as on the toolbar
    return options;
}

void AnalysisController::runSweep(const SweepSettings& settings) {
    if (!hasModel()) return;
    sweepSettings_ = settings;
    const SweepOptions options = sweepOptions(settings);
    // The shared settings as every sweep line uses them (the toggles do not matter).
    const SweepKey key{toStd(sweepText()), options.sinkText, options.queryTokens, options.parts,
                       settingsFor(Method::Both, method_)};
    auto hit = std::find_if(sweepCache_.begin(), sweepCache_.end(), [&](const auto& e) { return e.first == key; });
    if (hit != sweepCache_.end()) {
        worker_->cancel(JobTag::Sweep);
        sweepRows_ = hit->second;
        sweepRunning_ = false;
        emit sweepChanged();
        return;
    }
    sweepRows_.clear();
    sweepRunning_ = true;
    emit sweepChanged();
    worker_->submit(JobTag::Sweep, tr("P sweep"), this, [this, options, key](EngineContext& ctx, std::stop_token stop) {
        return runSweepSteps(ctx, stop, options, key);
    });
}

// Runs on the engine thread: one P value at a time, yielding to interactive work in between and
// showing the rows done so far.
Deliver AnalysisController::runSweepSteps(EngineContext& ctx, std::stop_token stop, const SweepOptions& options,
                                          const SweepKey& key) {
    std::vector<SweepRow> rows;
    const quint64 sessionId = ctx.sessionId;
    const auto& parts = options.parts;
    const int total = static_cast<int>(parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        ctx.yieldToInteractive();  // keep toggles responsive while the sweep runs
        if (stop.stop_requested()) return {};
        if (!ctx.session || ctx.sessionId != sessionId) return {};
        SweepOptions one = options;
        one.parts = {parts[i]};
        auto r = attnscope::runSweep(*ctx.session, key.text, one, stop, [&](int d, int t) {
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
        sweepCache_.emplace_front(key, rows);
        trim(sweepCache_, kSweepCacheEntries);
        emit sweepChanged();
    };
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
