#include "session/session.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include "backend/backend_registry.h"
#include "backend/cpu/cpu_backend.h"
#include "model/model_loader.h"
#include "session/result_cache.h"

namespace attnscope {

namespace {

// Builds the model's tokenizer. A large vocabulary takes a while (Gemma 3's 262,144 pieces: about
// half a second), so with a stop token the build runs on a helper thread and a stop ends the wait
// at once; an abandoned build finishes on its own and is dropped.
Result<std::shared_ptr<const Tokenizer>> buildTokenizer(const std::shared_ptr<const LoadedModel>& model,
                                                        std::stop_token stop) {
    if (!stop.stop_possible()) return makeTokenizer(model->tokenizer, model->path);
    using Built = Result<std::shared_ptr<const Tokenizer>>;
    auto task =
        std::make_shared<std::packaged_task<Built()>>([model] { return makeTokenizer(model->tokenizer, model->path); });
    std::future<Built> built = task->get_future();
    std::thread([task] { (*task)(); }).detach();
    while (built.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready)
        if (stop.stop_requested()) return loadCancelled(model->path);
    return built.get();
}

// Why the tokenizer has no BOS when the model declares one outside its vocabulary (llama.cpp's
// 0xFFFFFFFF means "none" and is not a problem).
std::string noBosReason(const TokenizerSpec& spec, int vocabSize) {
    const std::int64_t id = spec.declaredBosId;
    if (id < 0 || id == 0xFFFFFFFFll || id < vocabSize) return {};
    return "the model's BOS id " + std::to_string(id) + " is outside the vocabulary of size " +
           std::to_string(vocabSize);
}

// The bytes of text that surely make more than `contextLength` tokens: no token of this
// vocabulary covers more bytes than its longest piece (4 at least: one UTF-8 character).
std::size_t maxPartBytes(const Tokenizer& tok, int contextLength) {
    if (contextLength <= 0) return 0;
    std::size_t longest = 4;
    for (int id = 0; id < tok.vocabSize(); ++id) longest = std::max(longest, tok.piece(id).size());
    return longest * static_cast<std::size_t>(contextLength);
}

}  // namespace

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::open(const std::string& modelPath, const SessionOptions& options,
                                               std::function<void(const std::string&)> log, std::stop_token stop) {
    std::unique_ptr<Session> s(new Session());
    s->log_ = log ? std::move(log) : [](const std::string&) {};
    s->threads_ = options.threads;
    s->mayFallBack_ = options.device == "auto" || options.device.empty();
    s->cache_ = std::make_unique<ResultCache>(options.cacheEntries);
    const std::string path = resolveModelPath(modelPath);
    ATTN_SET(s->model_, loadModel(path, stop));
    if (stop.stop_requested()) return loadCancelled(path);
    ATTN_TRY(s->openTokenizer(stop));
    if (stop.stop_requested()) return loadCancelled(path);
    ATTN_SET(s->backend_, createBackend(options.device, options.threads, s->log_));
    if (stop.stop_requested()) return loadCancelled(path);
    auto loaded = s->backend_->loadWeights(s->model_);
    if (!loaded) {
        if (s->onCpu() || !s->mayFallBack_) return loaded.takeError();
        const std::string why = loaded.error().describe();
        ATTN_TRY(s->switchToCpu("backend " + s->backendName() + " failed (" + why + "); using the CPU"));
    }
    if (stop.stop_requested()) return loadCancelled(path);
    return s;
}

Result<void> Session::openTokenizer(std::stop_token stop) {
    PlanModel& pm = planModel_;
    pm.tokenizerFile = model_->path;
    pm.vocabSize = model_->config.vocabSize;
    pm.contextLength = model_->config.contextLength;
    auto tok = buildTokenizer(model_, stop);
    if (!tok && tok.error().kind == ErrorKind::Cancelled) return tok.takeError();
    if (!tok) {  // token ids still work; BOS as the model declares it
        tokenizerError_ = tok.error().describe();
        pm.noTokenizerReason = tok.error().message;
        pm.bosId = model_->tokenizer.bosId;
        pm.noBosReason = noBosReason(model_->tokenizer, pm.vocabSize);
        log_("tokenizer unavailable (" + tokenizerError_ + "): contexts must be given as token ids");
        return {};
    }
    tokenizer_ = std::move(*tok);
    pm.tokenizer = tokenizer_.get();
    pm.bosId = tokenizer_->bosId();
    pm.noBosReason = noBosReason(model_->tokenizer, tokenizer_->vocabSize());
    pm.maxPartBytes = maxPartBytes(*tokenizer_, pm.contextLength);
    return {};
}

Result<EncodingPlan> Session::plan(const ContextSpec& spec, const EncodingOptions& options) const {
    return buildPlan(spec, options, planModel_);
}

Result<std::vector<std::int32_t>> Session::encode(const std::string& text, const char* what) const {
    return encodePart(planModel_, text, what);
}

Result<std::shared_ptr<const RunOutput>> Session::analyze(const EncodingPlan& plan, std::stop_token stop,
                                                          Progress* progress) {
    const std::string hash = plan.hash(), ctx = plan.contextHash();
    if (auto hit = cache_->find(hash)) return hit;
    RunRequest req;
    req.plan = &plan;
    req.keepState = true;
    if (auto same = cache_->findContext(ctx)) req.reuse = same->kept;
    ATTN_ASSIGN(out, run(req, stop, progress));
    auto shared = std::make_shared<const RunOutput>(std::move(out));
    cache_->put(hash, ctx, shared);
    return shared;
}

Result<RunOutput> Session::run(const RunRequest& request, std::stop_token stop, Progress* progress) {
    auto out = backend_->run(request, stop, progress);
    if (out || out.error().kind != ErrorKind::Backend || onCpu() || !mayFallBack_) return out;
    // A GPU failure (out of memory, a failed kernel): say so and continue on the CPU.
    const std::string why = out.error().describe();
    ATTN_TRY(switchToCpu("backend " + backendName() + " failed (" + why + "); switching to the CPU"));
    RunRequest full = request;
    full.reuse.reset();
    return backend_->run(full, stop, progress);
}

Result<AttentionTile> Session::tile(const RunOutput& run, const AttentionTileRequest& request, std::stop_token stop) {
    if (!run.kept) return makeError(ErrorKind::InvalidInput, "this run kept no state for attention tiles");
    return backend_->attentionTile(*run.kept, request, stop);
}

void Session::clearCache() { cache_->clear(); }

bool Session::onCpu() const { return backendName().rfind("cpu", 0) == 0; }

Result<void> Session::switchToCpu(const std::string& notice) {
    log_(notice);
    auto cpu = makeCpuBackend(threads_);
    ATTN_TRY(cpu->loadWeights(model_));
    backend_ = std::move(cpu);
    cache_->clear();
    return {};
}

Result<GenerationResult> Session::generate(const EncodingPlan& plan, GenerationOptions options, std::stop_token stop,
                                           const TokenCallback& onToken) {
    if (options.stopIds.empty()) options.stopIds = stopTokenIds(model_->tokenizer);
    return attnscope::generate(*backend_, tokenizer_.get(), plan, options, stop, onToken);
}

}  // namespace attnscope
