#pragma once
// AnalysisController: the UI state (model, context, method toggles, selection) turned into
// engine requests, and the results that came back. Lives on the GUI thread; all engine work goes
// through the EngineWorker. Results are immutable bundles shared by every view.
//
// Results are cached by the engine's plan hash (EncodingPlan::hash()). The plan is built on the
// engine thread, so the controller also remembers which plan hash each request (context, method
// settings) produced: toggling back to a configuration seen recently is served from the cache
// here without a round trip to the engine thread (the Session caches more, by the same hash).
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "analysis/attention_tile.h"
#include "app_state.h"
#include "backend/backend.h"
#include "engine_worker.h"
#include "plan/encoding_plan.h"
#include "session/sweep.h"

namespace attnscope {
class Tokenizer;
}

namespace attnscope::gui {

// One analysed configuration: the plan, the engine's run output and the token texts.
struct AnalysisBundle {
    EncodingPlan plan;
    std::shared_ptr<const RunOutput> run;
    QStringList tokenTexts;  // [token] display text
    quint64 sessionId = 0;
    std::string planHash;  // plan.hash(), computed on the engine thread
    const AnalysisResult& stats() const { return run->stats; }
};
using BundlePtr = std::shared_ptr<const AnalysisBundle>;

struct ModelInfo {
    QString path;
    QString name;
    QString summary;  // "llama · 5 layers · d=64 · 8 heads (4 KV) · vocab 512"
    QString format;   // "gguf" | "safetensors"
    QString backend;  // "cpu (2 threads)"
    quint64 parameters = 0;
    int layers = 0, heads = 0;
    QVector<bool> localLayers;   // sliding-window (local) layers, e.g. Gemma 3; empty when none
    bool slidingWindow = false;  // some layer has a sliding window: the window rule matters
    QStringList notices;         // one-line notes from opening it (e.g. "CUDA unavailable …; using the CPU")
};

class AnalysisController : public QObject {
    Q_OBJECT
public:
    explicit AnalysisController(EngineWorker* worker, QObject* parent = nullptr);
    ~AnalysisController() override;

    EngineWorker* worker() const { return worker_; }

    // ---- model
    void openModel(const QString& path);
    // Stops a running load within half a second (Session::open checks its stop token between
    // tensors); the model we had, its results and the context stay.
    void cancelModelLoad();
    bool modelLoading() const { return modelLoading_; }
    bool hasModel() const { return sessionId_ != 0; }
    const ModelInfo& model() const { return model_; }
    QString loadingPath() const { return loadingPath_; }
    std::shared_ptr<const Tokenizer> tokenizer() const { return tokenizer_; }

    // ---- inputs
    void setContext(const ContextSpec& context);
    const ContextSpec& context() const { return context_; }
    void setMethod(const MethodSettings& method);
    const MethodSettings& method() const { return method_; }
    void setSelection(const ViewSelection& selection);
    const ViewSelection& selection() const { return selection_; }

    // ---- results
    BundlePtr current() const { return current_; }
    QString currentError() const { return currentError_; }
    bool analysisPending() const { return analysisPending_; }
    // The five method configurations for the current context (null until computed).
    BundlePtr methodBundle(Method m) const;
    bool methodsReady() const { return methodsReady_; }
    // Full attention over the same tokens as the current configuration (sequence plot reference).
    BundlePtr fullReference() const { return fullReference_; }

    // Pooled attention for the current bundle and the selected layer/head. Delivered by
    // tileReady; a newer request of the same kind (overview or detail) replaces an older one.
    void requestTile(int rowBegin, int rowEnd, int colBegin, int colEnd, int outRows, int outCols, bool overview);
    // Attention each token receives from the selected query token (or the mean of all query
    // tokens) at the selected layer/head; delivered by tokenAttentionReady.
    void requestTokenAttention();

    // ---- P sweep over the current text
    void runSweep(const SweepSettings& settings);
    void cancelSweep();
    bool sweepRunning() const { return sweepRunning_; }
    const std::vector<SweepRow>& sweepRows() const { return sweepRows_; }
    const SweepSettings& sweepSettings() const { return sweepSettings_; }
    // The text the sweep runs on: the chunks and the query joined, and the sink text.
    QString sweepText() const;

    // Stop everything running or queued (e.g. before quitting).
    void cancelAll();

signals:
    void modelLoadStarted(const QString& path);
    void modelLoaded();
    void modelFailed(const QString& path, const QString& message);
    void modelLoadCancelled(const QString& path);  // cancelModelLoad(): the model we had stays
    void analysisStarted();
    void currentChanged();  // current() or currentError() changed
    void methodsChanged();
    void selectionChanged();
    void tileReady(const attnscope::AttentionTile& tile);
    void tokenAttentionReady(const QVector<double>& weights, const QString& caption);
    void sweepChanged();  // rows or running state changed
    void sweepFailed(const QString& message);

private:
    // One analysis as the GUI asks for it. Equal contexts share an id (contextIdOf), so a request
    // compares cheaply; the session id keeps requests of an earlier model apart.
    struct Request {
        quint64 sessionId = 0;
        quint64 contextId = 0;
        EncodingOptions options;  // MethodSettings::toOptions: equal options, equal runs
        bool operator==(const Request&) const = default;
    };
    Request request(const MethodSettings& method) const { return {sessionId_, contextId_, method.toOptions()}; }
    quint64 contextIdOf(const ContextSpec& context);
    // The cached result of a request, through the plan hash the engine gave it; null when unknown.
    BundlePtr cached(const Request& request) const;
    // Remembers a request's plan hash and caches its result. Returns the bundle to show: the one
    // already cached for the same plan (its tiles are cached too), else `bundle`.
    BundlePtr remember(const Request& request, BundlePtr bundle);
    void scheduleAnalysis();
    void scheduleMethods();
    void setMethods(const std::vector<BundlePtr>& bundles);  // kMethods order, then the full reference
    void setCurrent(BundlePtr bundle, QString error);

    EngineWorker* worker_;
    ModelInfo model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    quint64 sessionId_ = 0;
    bool modelLoading_ = false;
    QString loadingPath_;

    ContextSpec context_;
    quint64 contextId_ = 0;
    std::list<std::pair<ContextSpec, quint64>> contextIds_;  // recent contexts, most recent first
    quint64 nextContextId_ = 1;
    MethodSettings method_;
    ViewSelection selection_;

    BundlePtr current_;
    QString currentError_;
    std::optional<Request> currentRequest_;
    bool analysisPending_ = false;
    std::map<Method, BundlePtr> methods_;
    BundlePtr fullReference_;
    std::vector<Request> methodsRequests_;  // the five methods, then the full reference
    bool methodsReady_ = false;

    std::list<BundlePtr> cache_;                             // by planHash, most recent first
    std::list<std::pair<Request, std::string>> planHashes_;  // request → plan hash, most recent first
    static constexpr std::size_t kCacheEntries = 24;
    static constexpr std::size_t kPlanHashEntries = 64;
    static constexpr std::size_t kContextIds = 16;
    // Tiles already computed (attention map and token shading), so toggling back needs no engine
    // round trip. Keyed by the bundle (weakly: the tile cache never keeps a result alive).
    struct CachedTile {
        std::weak_ptr<const AnalysisBundle> bundle;
        AttentionTileRequest request;
        AttentionTile tile;
    };
    std::list<CachedTile> tileCache_;
    static constexpr std::size_t kTileCacheEntries = 48;
    const AttentionTile* cachedTile(const BundlePtr& bundle, const AttentionTileRequest& request) const;
    void rememberTile(const BundlePtr& bundle, const AttentionTile& tile);
    // Asks for a tile of the current bundle; `deliver` gets it on the GUI thread while that bundle
    // is still current (at once when cached).
    void requestCurrentTile(JobTag tag, const QString& label, const AttentionTileRequest& request,
                            std::function<void(const AttentionTile&)> deliver);

    // A sweep is determined by its text, sink text, query length, P values and the shared settings.
    struct SweepKey {
        std::string text, sinkText;
        int queryTokens = 0;
        std::vector<int> parts;
        MethodSettings settings;
        bool operator==(const SweepKey&) const = default;
    };
    SweepOptions sweepOptions(const SweepSettings& settings) const;
    Deliver runSweepSteps(EngineContext& ctx, std::stop_token stop, const SweepOptions& options, const SweepKey& key);

    std::vector<SweepRow> sweepRows_;
    SweepSettings sweepSettings_;
    bool sweepRunning_ = false;
    std::list<std::pair<SweepKey, std::vector<SweepRow>>> sweepCache_;  // most recent first
    static constexpr std::size_t kSweepCacheEntries = 16;
};

}  // namespace attnscope::gui

Q_DECLARE_METATYPE(attnscope::AttentionTile)
