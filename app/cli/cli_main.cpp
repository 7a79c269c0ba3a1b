// attnscope-cli: info | tokenize | analyze | generate | sweep | bench. Links the engine only (no Qt).
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

const char* kUsage =
    "usage: attnscope-cli COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  info MODEL                          architecture, sizes, tokenizer, tensor types\n"
    "  tokenize --model MODEL --text TEXT  JSON {\"ids\": [...], \"pieces\": [...]} (MODEL may be a tokenizer.model)\n"
    "  analyze --model MODEL --context CONTEXT.json [options] [--out FILE]\n"
    "      --method full|parallel|sink|selective|both   one of the paper's methods (instead of --mode/--sink)\n"
    "      --mode full|parallel            (default parallel)\n"
    "      --sink on|off                   shared sink prefix (default on when the context has a prefix)\n"
    "      --positions stretch|restart|sequential   (default stretch)\n"
    "      --bos none|shared|per-chunk     (default none)\n"
    "      --select K                      selective attention: keep the top-K chunks (default off)\n"
    "      --select-score-top N|mean       chunk score = sum of its top-N probabilities, N >= 1 (default 5),\n"
    "                                      or the chunk's mean probability\n"
    "      --select-aggregate none|heads-queries\n"
    "      --entropy-csv FILE              also write per-(layer, head, token) entropy as CSV\n"
    "  generate --model MODEL --context CONTEXT.json [analyze options] [--methods a,b,...] [--out FILE]\n"
    "      the answer after the query under the method, with per-token entropy (JSON)\n"
    "      --max-new-tokens N              (default 20)\n"
    "      --stop TEXT                     stop once the text contains TEXT (repeatable)\n"
    "      --temperature T                 0 = greedy (default); else sample, with --seed S (default 0),\n"
    "      --top-k K --top-p P             and optionally only the top-K tokens / the top-P mass\n"
    "      --methods a,b,...               one run per method on the same context: {\"runs\": [...]}\n"
    "  sweep --model MODEL --text FILE --query-tokens N --parts 1,2,4,8,16 [--out FILE.json|.csv]\n"
    "      [--method M | --methods a,b,...] [--sink-text TEXT | --sink-tokens N] [--select K]\n"
    "      [--select-score-top N|mean]\n"
    "      [--bos none|shared]\n"
    "  bench --model MODEL [--tokens N] [--chunks P] [--queries Q] [--repeat R] [--generate N] [--out FILE.json]\n"
    "      --generate N                    also time N generated tokens after the query (ms per token)\n"
    "\n"
    "common options: --threads N (default: all cores; at most 4 per core), --device auto|cpu|NAME[:N] (default\n"
    "  auto; NAME names a backend plugin libattnscope_NAME.so, e.g. cuda: a device asked for by name never\n"
    "  falls back to the CPU), --verbose (notices such as why auto chose the CPU)\n"
    "MODEL is a .gguf file, a Hugging Face folder, or a file name inside the models folder\n"
    "($ATTNSCOPE_MODELS, else ../shared/models).\n";

struct UsageError {
    std::string message;
};

// Parsed "--key value" options plus positional arguments.
struct Args {
    std::map<std::string, std::string> opts;                 // the last value of each option
    std::vector<std::pair<std::string, std::string>> given;  // every option, in order (repeatable ones)
    std::vector<std::string> positional;

    bool has(const std::string& k) const { return opts.count(k) != 0; }
    std::string get(const std::string& k, const std::string& def = {}) const {
        auto it = opts.find(k);
        return it == opts.end() ? def : it->second;
    }
    std::string need(const std::string& k) const {
        if (!has(k)) throw UsageError{"missing required option --" + k};
        return get(k);
    }
    int getInt(const std::string& k, int def) const {
        if (!has(k)) return def;
        const std::string& v = get(k);
        char* end = nullptr;
        long x = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || x < -1000000000L || x > 1000000000L)
            throw UsageError{"--" + k + " expects an integer, got '" + v + "'"};
        return static_cast<int>(x);
    }
    double getDouble(const std::string& k, double def) const {
        if (!has(k)) return def;
        const std::string& v = get(k);
        char* end = nullptr;
        double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(x))
            throw UsageError{"--" + k + " expects a number, got '" + v + "'"};
        return x;
    }
    std::vector<std::string> all(const std::string& k) const {
        std::vector<std::string> v;
        for (const auto& [key, value] : given)
            if (key == k) v.push_back(value);
        return v;
    }
};

// Options that take no value.
bool isFlag(const std::string& key) { return key == "verbose"; }

// "--key value", "--key=value" or a flag ("--verbose"); anything else is positional, and a
// command takes at most `maxPositional` of those.
Args parseArgs(int argc, char** argv, int start, const std::vector<std::string>& known, std::size_t maxPositional = 0) {
    Args a;
    for (int i = start; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) != 0) {
            if (a.positional.size() >= maxPositional) throw UsageError{"unexpected argument '" + s + "'"};
            a.positional.push_back(s);
            continue;
        }
        std::string key = s.substr(2), value;
        auto eq = key.find('=');
        if (eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        } else if (!isFlag(key)) {
            if (i + 1 >= argc) throw UsageError{"option " + s + " needs a value"};
            value = argv[++i];
        }
        if (std::find(known.begin(), known.end(), key) == known.end() && !isFlag(key))
            throw UsageError{"unknown option --" + key};
        a.opts[key] = value;
        a.given.emplace_back(key, value);
    }
    return a;
}

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
    std::fprintf(
        stderr, "attnscope-cli: %d tokens, %d chunks, %s: mean query entropy %.4f nats, perplexity %s (%.1f ms, %s)\n",
        plan->tokenCount(), plan->chunkCount(), describe(plan->options).c_str(), run->stats.meanQueryEntropy(),
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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    try {
        if (cmd == "info") return cmdInfo(parseArgs(argc, argv, 2, {"out"}, 1));
        if (cmd == "tokenize") return cmdTokenize(parseArgs(argc, argv, 2, {"model", "text", "out"}));
        if (cmd == "analyze")
            return cmdAnalyze(
                parseArgs(argc, argv, 2,
                          {"model", "context", "method", "mode", "sink", "positions", "bos", "select",
                           "select-score-top", "select-aggregate", "threads", "device", "out", "entropy-csv"}));
        if (cmd == "generate")
            return cmdGenerate(parseArgs(argc, argv, 2,
                                         {"model",
                                          "context",
                                          "method",
                                          "methods",
                                          "mode",
                                          "sink",
                                          "positions",
                                          "bos",
                                          "select",
                                          "select-score-top",
                                          "select-aggregate",
                                          "threads",
                                          "device",
                                          "out",
                                          "max-new-tokens",
                                          "stop",
                                          "temperature",
                                          "seed",
                                          "top-k",
                                          "top-p"}));
        if (cmd == "sweep")
            return cmdSweep(parseArgs(argc, argv, 2,
                                      {"model", "text", "query-tokens", "parts", "sink-text", "sink-tokens", "select",
                                       "select-score-top", "bos", "method", "methods", "threads", "device", "out"}));
        if (cmd == "bench")
            return cmdBench(
                parseArgs(argc, argv, 2,
                          {"model", "tokens", "chunks", "queries", "repeat", "generate", "threads", "device", "out"}));
        throw UsageError{"unknown command '" + cmd + "' (try --help)"};
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
