#include "session/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "session/session.h"

namespace attnscope {

namespace {

std::vector<std::vector<std::int32_t>> splitEqual(const std::vector<std::int32_t>& ids, int parts) {
    std::vector<std::vector<std::int32_t>> out;
    const std::size_t size = (ids.size() + static_cast<std::size_t>(parts) - 1) / static_cast<std::size_t>(parts);
    for (std::size_t b = 0; b < ids.size(); b += size)
        out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(b),
                         ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), b + size)));
    return out;
}

}  // namespace

Result<void> validateSweepOptions(const SweepOptions& o) {
    auto bad = [](const std::string& why) { return makeError(ErrorKind::InvalidInput, why); };
    if (o.queryTokens <= 0) return bad("the query must have at least one token");
    if (o.sinkTokens < 0)
        return bad("the sink token count must be 0 or more (got " + std::to_string(o.sinkTokens) + ")");
    if (o.parts.empty()) return bad("no chunk counts (P) given");
    for (int p : o.parts)
        if (p <= 0) return bad("chunk counts must be positive (got " + std::to_string(p) + ")");
    if (o.settings.selectK <= 0) return bad("selective attention must keep at least one chunk (K > 0)");
    return {};
}

namespace {

// The text cut into the sweep's parts: the shared sink, the context body and the query.
struct SweepText {
    std::vector<std::int32_t> sink, context, query;
    bool sinkFromText = true;  // the sink is the first tokens of the context (else prepended)
};

Result<SweepText> cutSweepText(const Session& session, const std::string& text, const SweepOptions& o) {
    ATTN_TRY(validateSweepOptions(o));
    auto ids = session.encode(text, "sweep text");
    if (!ids) return ids.takeError();
    SweepText t;
    t.sinkFromText = o.sinkText.empty();
    if (!t.sinkFromText) {
        auto s = session.encode(o.sinkText, "sink text");
        if (!s) return s.takeError();
        t.sink = std::move(*s);
    }
    const int sinkTake = t.sinkFromText ? o.sinkTokens : 0;
    const int total = static_cast<int>(ids->size());
    const int L = total - o.queryTokens;
    const int maxP = *std::max_element(o.parts.begin(), o.parts.end());
    if (L - sinkTake < maxP)
        return makeError(ErrorKind::InvalidInput, "the text has " + std::to_string(total) + " tokens: too few for " +
                                                      std::to_string(o.queryTokens) + " query tokens and " +
                                                      std::to_string(maxP) + " chunks");
    t.context.assign(ids->begin(), ids->begin() + L);
    t.query.assign(ids->begin() + L, ids->end());
    if (t.sinkFromText) t.sink.assign(t.context.begin(), t.context.begin() + sinkTake);
    return t;
}

// The context of one run: with the sink on, the sink is the prefix (and, when it was taken from
// the text, no longer part of the body); the body is split into `parts` equal chunks.
ContextSpec sweepContext(const SweepText& t, bool withSink, int parts) {
    ContextSpec spec;
    std::vector<std::int32_t> body = t.context;
    if (withSink) {
        spec.prefixIds = t.sink;
        if (t.sinkFromText) body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(t.sink.size()));
    } else {
        spec.prefixIds = std::vector<std::int32_t>{};
    }
    spec.chunkIds = splitEqual(body, parts);
    spec.queryIds = t.query;
    return spec;
}

}  // namespace

Result<std::vector<SweepRow>> runSweep(Session& session, const std::string& text, const SweepOptions& o,
                                       std::stop_token stop, const std::function<void(int, int)>& progress) {
    auto cut = cutSweepText(session, text, o);
    if (!cut) return cut.takeError();
    const SweepText& t = *cut;
    std::vector<SweepRow> rows;
    const int runs = static_cast<int>(o.parts.size() * o.methods.size());
    std::optional<SweepRow> fullRow;
    for (int P : o.parts) {
        for (Method m : o.methods) {
            if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
            const EncodingOptions opt = methodOptions(m, o.settings);
            const ContextSpec spec = sweepContext(t, opt.sinkPrefix, P);
            SweepRow row;
            row.method = m;
            row.parts = P;
            row.windowRule = opt.window;
            row.contextTokens = static_cast<int>(t.context.size());
            row.chunkTokens = static_cast<int>(spec.chunkIds->front().size());  // ceil(L/P)
            if (m == Method::Full && fullRow) {
                // Full attention does not depend on P: the token sequence is identical.
                row.meanEntropy = fullRow->meanEntropy;
                row.perplexity = fullRow->perplexity;
            } else {
                auto plan = session.plan(spec, opt);
                if (!plan) return plan.takeError();
                auto run = session.analyze(*plan, stop);
                if (!run) return run.takeError();
                row.meanEntropy = (*run)->stats.meanQueryEntropy();
                row.perplexity = (*run)->stats.perplexity();
                if (m == Method::Full) fullRow = row;
            }
            rows.push_back(row);
            if (progress) progress(static_cast<int>(rows.size()), runs);
        }
    }
    return rows;
}

Json sweepToJson(const std::vector<SweepRow>& rows) {
    Json arr = Json::array();
    for (const auto& r : rows) {
        Json o = Json::object();
        o["method"] = toString(r.method);
        o["parts"] = r.parts;
        o["context_tokens"] = r.contextTokens;
        o["chunk_tokens"] = r.chunkTokens;
        o["mean_entropy"] = r.meanEntropy;
        o["perplexity"] = r.perplexity;
        o["window_rule"] = toString(r.windowRule);
        arr.push(std::move(o));
    }
    Json j = Json::object();
    j["rows"] = std::move(arr);
    return j;
}

std::string sweepToCsv(const std::vector<SweepRow>& rows) {
    std::string s = "method,parts,context_tokens,chunk_tokens,mean_entropy,perplexity,window_rule\n";
    char buf[160];
    for (const auto& r : rows) {
        std::snprintf(buf, sizeof buf, "%s,%d,%d,%d,%.6f,%.6f,%s\n", toString(r.method), r.parts, r.contextTokens,
                      r.chunkTokens, r.meanEntropy, r.perplexity, toString(r.windowRule));
        s += buf;
    }
    return s;
}

std::string sweepToTable(const std::vector<SweepRow>& rows) {
    std::vector<int> parts;
    std::vector<Method> methods;
    for (const auto& r : rows) {
        if (std::find(parts.begin(), parts.end(), r.parts) == parts.end()) parts.push_back(r.parts);
        if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) methods.push_back(r.method);
    }
    std::string s;
    char buf[64];
    auto header = [&](const char* title) {
        std::snprintf(buf, sizeof buf, "%-12s", title);
        s += buf;
        for (int p : parts) {
            std::snprintf(buf, sizeof buf, "%10s", ("P=" + std::to_string(p)).c_str());
            s += buf;
        }
        s += "\n";
    };
    auto body = [&](bool entropy) {
        for (auto m : methods) {
            std::snprintf(buf, sizeof buf, "%-12s", toString(m));
            s += buf;
            for (int p : parts) {
                auto it = std::find_if(rows.begin(), rows.end(),
                                       [&](const SweepRow& r) { return r.method == m && r.parts == p; });
                if (it == rows.end()) std::snprintf(buf, sizeof buf, "%10s", "-");
                else std::snprintf(buf, sizeof buf, "%10.3f", entropy ? it->meanEntropy : it->perplexity);
                s += buf;
            }
            s += "\n";
        }
    };
    header("entropy");
    body(true);
    s += "\n";
    header("perplexity");
    body(false);
    return s;
}

}  // namespace attnscope
