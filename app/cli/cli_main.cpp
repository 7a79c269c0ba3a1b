// attnscope-cli: info | tokenize | analyze | generate | sweep | bench. Links the engine only (no Qt).
// The commands and their options are one table, commands() at the end of this file (cli_args.h).
// Bad input exits with code 2 and one line on stderr; output files are written atomically,
// so a failure never leaves a partial file.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "analysis/result_io.h"
#include "cli_args.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "generation/generation_io.h"
#include "model/model_loader.h"
#include "plan/method.h"
#include "session/session.h"
#include "session/sweep.h"
#include "tokenizer/tokenizer.h"

using namespace attnscope;

namespace {

using cli::Args;
using cli::UsageError;

// How a MODEL argument is found; the end of every usage.
const char* kModelNote =
    "MODEL is a .gguf file, a Hugging Face folder, or a file name inside the models folder\n"
    "($ATTNSCOPE_MODELS, else ../shared/models, else the installed models in\n"
    "/usr/share/attnscope/models when attnscope-cli is /usr/bin/attnscope-cli).\n";

[[noreturn]] void failWith(const Error& e) {
    std::fprintf(stderr, "attnscope-cli: %s\n", e.describe().c_str());
    std::exit(e.kind == ErrorKind::Internal ? 1 : 2);
}

template <typename T>
T orFail(Result<T> r) {
    if (!r) failWith(r.error());
    return std::move(r).value();
}
void orFail(Result<void> r) {
    if (!r) failWith(r.error());
}

void writeOutput(const std::string& path, const std::string& content) {
    if (path.empty() || path == "-") {
        std::fwrite(content.data(), 1, content.size(), stdout);
        if (content.empty() || content.back() != '\n') std::fputc('\n', stdout);
        return;
    }
    orFail(writeFileAtomic(path, content));
}

// --threads: 0 (all cores) up to maxThreads().
int threadCount(const Args& a) {
    const int n = a.getInt("threads", 0);
    if (n < 0) throw UsageError{"--threads must be 0 (all cores) or more, got " + std::to_string(n)};
    if (n > maxThreads())
        throw UsageError{"--threads " + std::to_string(n) + " is more than the limit of " +
                         std::to_string(maxThreads()) + " (4 per core, at least 16)"};
    return n;
}

// The session's notices (why "auto" chose the CPU, a missing tokenizer) are printed with
// --verbose only, so that an error stays one line; a device asked for by name fails instead.
std::unique_ptr<Session> openSession(const Args& a, const std::string& model) {
    SessionOptions so;
    so.threads = threadCount(a);
    so.device = a.get("device", "auto");  // the backend registry names what is wrong with it
    const bool verbose = a.has("verbose");
    return orFail(Session::open(model, so, [verbose](const std::string& m) {
        if (verbose) std::fprintf(stderr, "attnscope-cli: %s\n", m.c_str());
    }));
}

// --select-score-top: N >= 1, or "mean" (the engine's n <= 0).
int scoreTopN(const Args& a) {
    if (a.get("select-score-top") == "mean") return 0;
    const int n = a.getInt("select-score-top", kDefaultScoreTopN);
    if (n < 1) throw UsageError{"--select-score-top must be 1 or more (or 'mean'), got " + std::to_string(n)};
    return n;
}

bool onOff(const std::string& v, const char* what) {
    if (v == "on") return true;
    if (v == "off") return false;
    throw UsageError{std::string("--") + what + " must be on or off"};
}

// The method from --method (one of the paper's five), or from --mode/--sink/--select; the
// engine's MethodSettings turns either into encoding options.
// The settings every method shares: positions, BOS, K and the chunk score.
MethodSettings sharedSettings(const Args& a) {
    MethodSettings s;
    s.positions = orFail(parsePositionPolicy(a.get("positions", "stretch")));
    s.window = orFail(parseWindowRule(a.get("window-rule", "physical")));
    s.bos = orFail(parseBosPolicy(a.get("bos", "none")));
    s.scoreTopN = scoreTopN(a);
    s.aggregation = orFail(parseSelectAggregation(a.get("select-aggregate", "none")));
    const int k = a.getInt("select", 0);
    if (k < 0) throw UsageError{"--select must be >= 0"};
    if (k > 0) s.selectK = k;
    return s;
}

EncodingOptions encodingOptions(const Args& a, bool prefixGiven) {
    MethodSettings s = sharedSettings(a);
    const int k = a.getInt("select", 0);
    if (a.has("method")) {
        if (a.has("mode") || a.has("sink"))
            throw UsageError{"--method replaces --mode and --sink: give one or the other"};
        return methodOptions(orFail(parseMethod(a.get("method"))), s);
    }
    s.mode = orFail(parseEncodingMode(a.get("mode", "parallel")));
    s.sink = a.has("sink") ? onOff(a.get("sink"), "sink") : prefixGiven;
    s.selective = k > 0;
    return s.toOptions();
}

// A JSON object of key/value pairs, in their order.
template <typename Pairs>
Json objectOf(const Pairs& pairs) {
    Json o = Json::object();
    for (const auto& [k, v] : pairs) o[k] = v;
    return o;
}

int cmdInfo(const Args& a) {
    if (a.positional.size() != 1) throw UsageError{"info takes exactly one MODEL argument"};
    auto model = orFail(loadModel(resolveModelPath(a.positional[0])));
    const auto& c = model->config;
    Json j = Json::Object{
        {"path", model->path},
        {"format", model->format},
        {"architecture", architectureName(c.arch)},
        {"name", c.name},
        {"summary", c.summary()},
        {"parameters", static_cast<double>(model->parameterCount)},
        {"weight_bytes", static_cast<double>(model->weightBytes)},
        {"dim", c.dim},
        {"layers", c.nLayers},
        {"heads", c.nHeads},
        {"kv_heads", c.nKvHeads},
        {"head_dim", c.headDim},
        {"ffn_dim", c.ffnDim},
        {"vocab_size", c.vocabSize},
        {"context_length", c.contextLength},
        {"rope_theta", c.ropeTheta},
        {"rope_dim", c.ropeDim},
        {"rope_layout", c.ropeLayout == RopeLayout::AdjacentPairs ? "adjacent-pairs" : "rotate-half"},
        {"rms_eps", c.normEps},
        {"tied_output", c.tiedOutput},
        {"tensor_types", objectOf(model->tensorTypeCounts)},
    };
    auto tok = makeTokenizer(model->tokenizer, model->path);
    j["tokenizer"] = tok ? Json((*tok)->kind() + " (" + std::to_string((*tok)->vocabSize()) + " pieces)")
                         : Json("unavailable: " + tok.error().message);
    j["metadata"] = objectOf(model->metadata);
    writeOutput(a.get("out"), j.dump(2));
    return 0;
}

int cmdTokenize(const Args& a) {
    const std::string path = resolveModelPath(a.need("model"));
    std::shared_ptr<const Tokenizer> tok;
    if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".model") == 0) {
        tok = orFail(loadSentencePieceFile(path));
    } else {
        auto model = orFail(loadModel(path));
        tok = orFail(makeTokenizer(model->tokenizer, model->path));
    }
    auto ids = orFail(tok->encode(a.need("text")));
    Json j = Json::object(), jid = Json::array(), jp = Json::array();
    for (auto id : ids) {
        jid.push(id);
        jp.push(tok->piece(id));
    }
    j["ids"] = std::move(jid);
    j["pieces"] = std::move(jp);
    writeOutput(a.get("out"), j.dump());
    return 0;
}

int cmdAnalyze(const Args& a) {
    const std::string ctxPath = a.need("context");
    auto spec = orFail(ContextSpec::fromFile(ctxPath));
    bool prefixGiven = !spec.prefix.empty() || (spec.prefixIds && !spec.prefixIds->empty());
    auto opts = encodingOptions(a, prefixGiven);
    auto session = openSession(a, a.need("model"));
    auto plan = session->plan(spec, opts);
    if (!plan) {
        Error e = plan.takeError();
        if (e.file.empty()) e.file = ctxPath;
        failWith(e);
    }
    auto run = orFail(session->analyze(*plan));
    Json j = analysisToJson(*plan, run->stats, session->tokenizer());
    j["model"] = session->model().path;
    if (a.has("entropy-csv")) orFail(writeFileAtomic(a.get("entropy-csv"), entropyToCsv(*plan, run->stats)));
    writeOutput(a.get("out"), j.dump(1));
    const double ppl = run->stats.perplexity();  // none with one query token: nothing is predicted
    const std::string method = describe(plan->options, session->model().config.hasSlidingWindowLayers());
    std::fprintf(
        stderr, "attnscope-cli: %d tokens, %d chunks, %s: mean query entropy %.4f nats, perplexity %s (%.1f ms, %s)\n",
        plan->tokenCount(), plan->chunkCount(), method.c_str(), run->stats.meanQueryEntropy(),
        std::isnan(ppl) ? "n/a" : std::to_string(ppl).c_str(), run->stats.elapsedMs, run->stats.backend.c_str());
    return 0;
}

// --methods a,b,... (each one of the paper's five, no repeats).
std::vector<Method> parseMethodList(const std::string& s) {
    std::vector<Method> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const auto comma = s.find(',', pos);
        const Method m =
            orFail(parseMethod(s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos)));
        if (std::find(out.begin(), out.end(), m) != out.end())
            throw UsageError{std::string("--methods names '") + toString(m) + "' twice"};
        out.push_back(m);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

// --max-new-tokens, --stop (repeatable), --temperature, --seed, --top-k, --top-p.
GenerationOptions generationOptions(const Args& a) {
    GenerationOptions g;
    g.maxNewTokens = a.getInt("max-new-tokens", g.maxNewTokens);
    g.stopStrings = a.all("stop");
    g.sampling.temperature = a.getDouble("temperature", 0);
    const int seed = a.getInt("seed", 0);
    if (seed < 0) throw UsageError{"--seed must be 0 or more"};
    g.sampling.seed = static_cast<std::uint64_t>(seed);
    g.sampling.topK = a.getInt("top-k", 0);
    g.sampling.topP = a.getDouble("top-p", 1.0);
    if (auto ok = validateGenerationOptions(g); !ok) throw UsageError{ok.error().message};
    return g;
}

// The runs `generate` makes: one per --methods entry, or the one the analyze options describe.
std::vector<std::pair<std::string, EncodingOptions>> generationRuns(const Args& a, bool prefixGiven) {
    std::vector<std::pair<std::string, EncodingOptions>> runs;
    if (!a.has("methods")) {
        const EncodingOptions o = encodingOptions(a, prefixGiven);
        runs.emplace_back(a.has("method") ? a.get("method") : describe(o), o);
        return runs;
    }
    if (a.has("method") || a.has("mode") || a.has("sink"))
        throw UsageError{"--methods replaces --method, --mode and --sink: give one or the other"};
    const MethodSettings shared = sharedSettings(a);
    for (Method m : parseMethodList(a.get("methods"))) runs.emplace_back(toString(m), methodOptions(m, shared));
    return runs;
}

int cmdGenerate(const Args& a) {
    const std::string ctxPath = a.need("context");
    auto spec = orFail(ContextSpec::fromFile(ctxPath));
    const bool prefixGiven = !spec.prefix.empty() || (spec.prefixIds && !spec.prefixIds->empty());
    const auto runs = generationRuns(a, prefixGiven);
    const GenerationOptions g = generationOptions(a);
    auto session = openSession(a, a.need("model"));
    Json all = Json::array();
    for (const auto& [method, options] : runs) {
        auto plan = session->plan(spec, options);
        if (!plan) {
            Error e = plan.takeError();
            if (e.file.empty()) e.file = ctxPath;
            failWith(e);
        }
        const GenerationResult r = orFail(session->generate(*plan, g));
        all.push(generationToJson(r, method, session->tokenizer(), spec.answers));
        std::fprintf(stderr, "attnscope-cli: %s: %zu tokens (%s), %.1f ms per token, prompt %.1f ms (%s): %s\n",
                     method.c_str(), r.tokens.size(), toString(r.stop), r.msPerToken(), r.promptMs, r.backend.c_str(),
                     r.text.c_str());
    }
    Json out = a.has("methods") ? Json(Json::Object{{"runs", std::move(all)}}) : std::move(all.asArray().front());
    writeOutput(a.get("out"), out.dump(1));
    return 0;
}

std::vector<int> parseIntList(const std::string& s, const char* what) {
    std::vector<int> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        auto comma = s.find(',', pos);
        std::string tok = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        char* end = nullptr;
        long v = std::strtol(tok.c_str(), &end, 10);
        if (tok.empty() || *end != '\0' || v <= 0 || v > 100000)
            throw UsageError{std::string("--") + what + " expects a comma-separated list of positive integers"};
        out.push_back(static_cast<int>(v));
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

int cmdSweep(const Args& a) {
    SweepOptions o;
    o.queryTokens = a.getInt("query-tokens", 64);
    o.parts = parseIntList(a.get("parts", "1,2,4,8,16"), "parts");
    o.sinkText = a.get("sink-text");
    o.sinkTokens = a.getInt("sink-tokens", 4);
    o.settings.selectK = a.getInt("select", kDefaultSelectK);
    o.settings.scoreTopN = scoreTopN(a);
    const std::string bos = a.get("bos", "none");
    if (bos != "none" && bos != "shared") throw UsageError{"--bos for the sweep must be none or shared"};
    o.settings.bos = bos == "shared" ? BosPolicy::Shared : BosPolicy::None;
    o.settings.window = orFail(parseWindowRule(a.get("window-rule", "physical")));
    if (a.has("method") && a.has("methods")) throw UsageError{"give --method or --methods, not both"};
    if (a.has("method")) o.methods = {orFail(parseMethod(a.get("method")))};
    if (a.has("methods")) o.methods = parseMethodList(a.get("methods"));
    if (o.settings.selectK <= 0) throw UsageError{"--select must be positive for the sweep"};
    orFail(validateSweepOptions(o));
    const std::string textPath = a.need("text");
    auto text = orFail(readFile(textPath, 64ull << 20));
    auto session = openSession(a, a.need("model"));
    const bool tty = isatty(fileno(stderr));
    auto rows = runSweep(*session, text, o, {}, [tty](int done, int total) {
        if (!tty) return;
        std::fprintf(stderr, "\rattnscope-cli: sweep %d/%d", done, total);
        if (done == total) std::fputc('\n', stderr);
    });
    if (!rows) {
        Error e = rows.takeError();
        if (e.file.empty()) e.file = textPath;
        failWith(e);
    }
    std::printf("%s", sweepToTable(*rows).c_str());
    if (a.has("out")) {
        std::string out = a.get("out");
        bool csv = out.size() >= 4 && out.compare(out.size() - 4, 4, ".csv") == 0;
        orFail(writeFileAtomic(out, csv ? sweepToCsv(*rows) : sweepToJson(*rows).dump(2)));
    }
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Random ids (fixed seed; the speed does not depend on the text): `tokens - queries` context
// tokens in `chunks` chunks of equal length (the last one shorter), then `queries` query tokens.
ContextSpec benchContext(int vocabSize, int tokens, int chunks, int queries) {
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> pick(3, vocabSize - 1);
    const int ctx = tokens - queries, per = (ctx + chunks - 1) / chunks;
    std::vector<std::vector<std::int32_t>> chunkIds;
    for (int b = 0; b < ctx; b += per) {
        std::vector<std::int32_t> c;
        for (int i = b; i < std::min(ctx, b + per); ++i) c.push_back(pick(rng));
        chunkIds.push_back(std::move(c));
    }
    std::vector<std::int32_t> q;
    for (int i = 0; i < queries; ++i) q.push_back(pick(rng));
    ContextSpec spec;
    spec.chunkIds = chunkIds;
    spec.queryIds = q;
    spec.prefixIds = std::vector<std::int32_t>{};
    return spec;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Seconds of each full analysis of `plan` (state kept), and of each query pass of `toggled` (a
// query-side change of `plan`) reusing that analysis' context.
struct BenchTimes {
    std::vector<double> full, queryPass;
};

// Times `repeat` full runs of `plan`, each followed by a query-only rerun of `toggled` on its
// kept context. A run that fails over to the CPU ends the benchmark: its times would mix backends.
BenchTimes timeRuns(Session& session, const EncodingPlan& plan, const EncodingPlan& toggled, int repeat) {
    const std::string backend = session.backendName();
    BenchTimes t;
    for (int r = 0; r < repeat; ++r) {
        RunRequest req;
        req.plan = &plan;
        req.keepState = true;
        auto t0 = std::chrono::steady_clock::now();
        auto out = orFail(session.run(req));
        t.full.push_back(secondsSince(t0));
        RunRequest rq;
        rq.plan = &toggled;
        rq.reuse = out.kept;
        auto t1 = std::chrono::steady_clock::now();
        auto outSel = orFail(session.run(rq));
        t.queryPass.push_back(secondsSince(t1));
        if (session.backendName() != backend)
            failWith(makeError(ErrorKind::Backend, "the benchmark stopped: " + backend +
                                                       " failed and the session moved to " + session.backendName()));
        if (!outSel.stats.reusedContext)
            std::fprintf(stderr, "attnscope-cli: warning: query pass did not reuse the context\n");
    }
    return t;
}

// bench --generate N: one greedy generation of N tokens after the plan's query (no stop token,
// so every one is decoded); prints and returns the milliseconds per generated token.
double timeGeneration(Session& session, const EncodingPlan& plan, int tokens) {
    if (tokens < 1) throw UsageError{"--generate must be 1 or more"};
    GenerationOptions g;
    g.maxNewTokens = tokens;
    g.stopIds = {-1};  // never chosen: the run decodes all `tokens`
    const GenerationResult r = orFail(session.generate(plan, g));
    std::printf("generation   %zu tokens after the query: %.2f ms per token (%s), every statistic recorded\n",
                r.tokens.size(), r.msPerToken(), r.backend.c_str());
    return r.msPerToken();
}

int cmdBench(const Args& a) {
    const int tokens = a.getInt("tokens", 512), chunks = a.getInt("chunks", 8), queries = a.getInt("queries", 64);
    const int repeat = std::max(1, a.getInt("repeat", 5));
    if (tokens <= queries || chunks <= 0 || queries <= 0)
        throw UsageError{"need --tokens > --queries > 0 and --chunks > 0"};
    auto session = openSession(a, a.need("model"));
    const auto& cfg = session->model().config;
    const ContextSpec spec = benchContext(cfg.vocabSize, tokens, chunks, queries);
    auto plan = orFail(session->plan(spec, methodOptions(Method::Parallel, {})));
    auto planSel = orFail(session->plan(spec, methodOptions(Method::Selective, {})));

    const BenchTimes times = timeRuns(*session, plan, planSel, repeat);
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    const double peakMiB = static_cast<double>(ru.ru_maxrss) / 1024.0;
    const double med = median(times.full), medQ = median(times.queryPass);
    std::printf("model        %s\n", cfg.summary().c_str());
    std::printf("backend      %s\n", session->backendName().c_str());
    std::printf("context      %d tokens (%d chunks + %d query tokens), %d runs\n", tokens, plan.chunkCount(), queries,
                repeat);
    std::printf("full analysis (prefill + stats + NLL): median %.3f s  = %.0f tokens/s\n", med, tokens / med);
    std::printf("query pass (selective K=%d toggled, context reused): median %.1f ms\n", kDefaultSelectK, medQ * 1000);
    double msPerToken = 0;
    if (a.has("generate")) msPerToken = timeGeneration(*session, plan, a.getInt("generate", 0));
    std::printf("peak RSS     %.0f MiB\n", peakMiB);
    if (a.has("out")) {
        Json j = Json::Object{
            {"model", cfg.summary()},
            {"backend", session->backendName()},
            {"tokens", tokens},
            {"chunks", plan.chunkCount()},
            {"queries", queries},
            {"runs", repeat},
            {"prefill_median_s", med},
            {"prefill_tokens_per_s", tokens / med},
            {"query_pass_median_ms", medQ * 1000},
            {"peak_rss_mib", peakMiB},
        };
        if (msPerToken > 0) j["generate_ms_per_token"] = msPerToken;
        orFail(writeFileAtomic(a.get("out"), j.dump(2)));
    }
    return 0;
}

// "a|b|c": the name of every value of E, from the engine's name table for E.
template <typename E>
std::string choicesOf() {
    std::string s;
    for (int i = 0; std::strcmp(toString(static_cast<E>(i)), "?") != 0; ++i)
        s += std::string(i ? "|" : "") + toString(static_cast<E>(i));
    return s;
}

std::string methodChoices() {
    std::string s;
    for (Method m : kMethods) s += std::string(s.empty() ? "" : "|") + toString(m);
    return s;
}

using cli::OptionSpec;
using cli::ValueKind;

// Options shared by the commands that run a model.
std::vector<OptionSpec> runOptions() {
    return {
        {"threads", ValueKind::Integer, "N",
         "worker threads, 0 = all cores (default); the limit is 4 per core, never below 16"},
        {"device", ValueKind::Choice, "auto|cpu|cuda|NAME[:N]",
         "backend: auto (default) takes the first usable plugin, else the CPU; a device asked for by name "
         "(libattnscope_NAME.so, e.g. cuda) never falls back to the CPU"},
        {"verbose", ValueKind::Flag, "", "print notices, such as why auto chose the CPU"},
    };
}

std::vector<OptionSpec> withRunOptions(std::vector<OptionSpec> options) {
    for (OptionSpec& o : runOptions()) options.push_back(std::move(o));
    return options;
}

cli::CommandSpec infoCommand() {
    return {"info",
            "MODEL",
            ValueKind::Model,
            "print a model's architecture, sizes, tokenizer and tensor types as JSON",
            {{"out", ValueKind::OutputFile, "FILE", "write the JSON to FILE instead of standard output"}},
            &cmdInfo};
}

cli::CommandSpec tokenizeCommand() {
    return {"tokenize",
            "",
            ValueKind::Text,
            "print the token ids and pieces of a text as JSON",
            {{"model", ValueKind::Model, "MODEL", "the model, or a SentencePiece tokenizer.model", true},
             {"text", ValueKind::Text, "TEXT", "the text to tokenize", true},
             {"out", ValueKind::OutputFile, "FILE", "write the JSON to FILE instead of standard output"}},
            &cmdTokenize};
}

// The options that choose a method: analyze and generate take them all.
std::vector<OptionSpec> methodOptionSpecs() {
    return {
        {"method", ValueKind::Choice, methodChoices(), "one of the paper's methods (instead of --mode and --sink)"},
        {"mode", ValueKind::Choice, choicesOf<EncodingMode>(), "encoding (default parallel)"},
        {"sink", ValueKind::Choice, "on|off", "shared sink prefix (default on when the context has a prefix)"},
        {"positions", ValueKind::Choice, choicesOf<PositionPolicy>(), "position rule (default stretch)"},
        {"window-rule", ValueKind::Choice, choicesOf<WindowRule>(),
         "sliding-window layers measure the window by physical index (transformers) or by position id "
         "(llama.cpp) (default physical)"},
        {"bos", ValueKind::Choice, choicesOf<BosPolicy>(), "BOS token policy (default none)"},
        {"select", ValueKind::Integer, "K", "selective attention: keep the top-K chunks (default 0: off)"},
        {"select-score-top", ValueKind::Choice, "N|mean",
         "chunk score: sum of its top-N probabilities, N >= 1 (default 5), or its mean probability"},
        {"select-aggregate", ValueKind::Choice, choicesOf<SelectAggregation>(),
         "selection per (head, query token), or once per layer (default none)"},
    };
}

std::vector<OptionSpec> joined(std::vector<OptionSpec> head, const std::vector<OptionSpec>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

cli::CommandSpec analyzeCommand() {
    return {"analyze",
            "",
            ValueKind::Text,
            "analyse one context: attention entropy, chunk masses, NLL of the query",
            withRunOptions(joined(
                {
                    {"model", ValueKind::Model, "MODEL", "the model", true},
                    {"context", ValueKind::ContextFile, "CONTEXT.json", "the context: prefix, chunks and query", true},
                },
                joined(methodOptionSpecs(),
                       {
                           {"out", ValueKind::OutputFile, "FILE",
                            "write the result JSON to FILE instead of standard output"},
                           {"entropy-csv", ValueKind::OutputFile, "FILE",
                            "also write per-(layer, head, token) entropy as CSV"},
                       }))),
            &cmdAnalyze};
}

cli::CommandSpec generateCommand() {
    return {
        "generate",
        "",
        ValueKind::Text,
        "the answer after the query under each method, with the entropy of every generated token",
        withRunOptions(joined(
            {
                {"model", ValueKind::Model, "MODEL", "the model", true},
                {"context", ValueKind::ContextFile, "CONTEXT.json", "the context: prefix, chunks and query", true},
            },
            joined(
                methodOptionSpecs(),
                {
                    {"methods", ValueKind::Text, "M,M,...",
                     "one run per method on the same context (instead of --method, --mode and --sink)"},
                    {"max-new-tokens", ValueKind::Integer, "N", "tokens generated at most (default 20)"},
                    {"stop", ValueKind::Text, "TEXT", "stop once the answer contains TEXT (repeatable)"},
                    {"temperature", ValueKind::Number, "T", "0 = greedy (default); above 0 samples"},
                    {"seed", ValueKind::Integer, "S", "the sampler's seed (default 0)"},
                    {"top-k", ValueKind::Integer, "K", "sample only from the K likeliest tokens (default 0: all)"},
                    {"top-p", ValueKind::Number, "P", "sample only from the top-P probability mass (default 1)"},
                    {"out", ValueKind::OutputFile, "FILE", "write the result JSON to FILE instead of standard output"},
                }))),
        &cmdGenerate};
}

cli::CommandSpec sweepCommand() {
    return {"sweep",
            "",
            ValueKind::Text,
            "run every method at every number of chunks P on one text",
            withRunOptions({
                {"model", ValueKind::Model, "MODEL", "the model", true},
                {"text", ValueKind::InputFile, "FILE", "the text: its last tokens are the query, the rest the chunks",
                 true},
                {"query-tokens", ValueKind::Integer, "N", "query length in tokens (default 64)"},
                {"parts", ValueKind::IntegerList, "P,P,...", "the numbers of chunks (default 1,2,4,8,16)"},
                {"sink-text", ValueKind::Text, "TEXT", "the sink prefix (instead of the text's first tokens)"},
                {"sink-tokens", ValueKind::Integer, "N", "the sink is the text's first N tokens (default 4)"},
                {"select", ValueKind::Integer, "K", "chunks kept by selective attention (default 2)"},
                {"select-score-top", ValueKind::Choice, "N|mean",
                 "chunk score: sum of its top-N probabilities (default 5), or its mean probability"},
                {"method", ValueKind::Choice, methodChoices(), "run only this method (default: all five)"},
                {"methods", ValueKind::Text, "M,M,...", "run only these methods (default: all five)"},
                {"bos", ValueKind::Choice, "none|shared", "BOS token policy (default none)"},
                {"window-rule", ValueKind::Choice, choicesOf<WindowRule>(),
                 "window rule of sliding-window layers (default physical)"},
                {"out", ValueKind::OutputFile, "FILE", "also write the rows as JSON, or as CSV when FILE ends in .csv"},
            }),
            &cmdSweep};
}

cli::CommandSpec benchCommand() {
    return {"bench",
            "",
            ValueKind::Text,
            "time a full analysis and a query-side toggle on random tokens",
            withRunOptions({
                {"model", ValueKind::Model, "MODEL", "the model", true},
                {"tokens", ValueKind::Integer, "N", "tokens in all (default 512)"},
                {"chunks", ValueKind::Integer, "P", "chunks of the context (default 8)"},
                {"queries", ValueKind::Integer, "Q", "query tokens (default 64)"},
                {"repeat", ValueKind::Integer, "R", "runs; the medians are printed (default 5)"},
                {"generate", ValueKind::Integer, "N", "also time N generated tokens after the query (ms per token)"},
                {"out", ValueKind::OutputFile, "FILE", "also write the timings as JSON"},
            }),
            &cmdBench};
}

// Every command: the one table the parser, the usages, the man page test and the completion read.
const std::vector<cli::CommandSpec>& commands() {
    static const std::vector<cli::CommandSpec> all = {infoCommand(),     tokenizeCommand(), analyzeCommand(),
                                                      generateCommand(), sweepCommand(),    benchCommand()};
    return all;
}

std::string unknownCommand(const std::string& name) {
    std::vector<std::string> names;
    for (const auto& c : commands()) names.emplace_back(c.name);
    const std::string nearest = cli::nearestName(name, names);
    return "unknown command '" + name + "' (" + (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") +
           "try --help)";
}

// Program-wide requests (--help, --version, the hidden --list-options), then one command.
int runCommandLine(const std::vector<std::string>& args) {
    if (args.empty()) {
        std::fputs(cli::programUsage(commands(), kModelNote).c_str(), stderr);
        return 2;
    }
    const std::string& first = args[0];
    if (first == "--help" || first == "-h" || (first == "help" && args.size() == 1)) {
        std::fputs(cli::programUsage(commands(), kModelNote).c_str(), stdout);
        return 0;
    }
    if (first == "--version") return std::printf("attnscope-cli %s\n", ATTNSCOPE_VERSION), 0;
    if (first == "--list-options") return std::fputs(cli::listOptions(commands()).c_str(), stdout), 0;
    const bool helpCommand = first == "help";  // "help COMMAND"
    const std::string& name = helpCommand ? args[1] : first;
    const cli::CommandSpec* command = cli::findCommand(commands(), name);
    if (!command) throw UsageError{unknownCommand(name)};
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (helpCommand || cli::asksForHelp(*command, rest)) {
        std::fputs(cli::commandUsage(*command, kModelNote).c_str(), stdout);
        return 0;
    }
    return command->run(cli::parseCommandArgs(*command, rest));
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return runCommandLine(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "attnscope-cli: %s\n", e.message.c_str());
        return 2;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "attnscope-cli: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "attnscope-cli: internal error: %s\n", e.what());
        return 1;
    }
}
