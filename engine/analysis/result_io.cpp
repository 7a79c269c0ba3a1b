#include "analysis/result_io.h"

#include <cstdio>

#include "tokenizer/tokenizer.h"

namespace attnscope {

namespace {
Json numberOrNull(float v) { return std::isnan(v) ? Json() : Json(static_cast<double>(v)); }
}  // namespace

Json optionsToJson(const EncodingPlan& plan) {
    Json opt = Json::object();
    const auto& o = plan.options;
    opt["mode"] = toString(o.mode);
    opt["sink"] = o.sinkPrefix && plan.prefixLength > 0;
    opt["positions"] = toString(o.positions);
    opt["bos"] = toString(o.bos);
    opt["select_top_k"] = o.selective.topK;
    opt["select_score_top_n"] = o.selective.scoreTopN;
    opt["select_aggregation"] = toString(o.selective.aggregation);
    opt["window_rule"] = toString(o.window);
    return opt;
}

Json analysisToJson(const EncodingPlan& plan, const AnalysisResult& r, const Tokenizer* tok) {
    Json j = Json::object();
    j["options"] = optionsToJson(plan);
    j["backend"] = r.backend;
    j["elapsed_ms"] = r.elapsedMs;
    j["layers"] = r.layers;
    j["heads"] = r.heads;
    j["chunks"] = r.chunks;
    j["query_begin"] = r.queryBegin;

    Json positions = Json::array(), tokens = Json::array();
    for (int i = 0; i < plan.tokenCount(); ++i) {
        positions.push(plan.positions[static_cast<std::size_t>(i)]);
        Json t = Json::object();
        t["id"] = plan.ids[static_cast<std::size_t>(i)];
        t["text"] = tok ? tok->tokenText(plan.ids[static_cast<std::size_t>(i)]) : std::string();
        t["segment"] = toString(plan.segment[static_cast<std::size_t>(i)]);
        t["chunk"] =
            plan.chunk[static_cast<std::size_t>(i)] >= 0 ? Json(plan.chunk[static_cast<std::size_t>(i)]) : Json();
        t["position"] = plan.positions[static_cast<std::size_t>(i)];
        tokens.push(std::move(t));
    }
    j["positions"] = std::move(positions);
    j["tokens"] = std::move(tokens);

    const int Q = r.queries(), P = r.chunks;
    Json qe = Json::array(), ce = Json::array(), cm = Json::array(), sel = Json::array(), le = Json::array();
    for (int l = 0; l < r.layers; ++l) {
        Json byHead = Json::array(), massHead = Json::array(), selHead = Json::array();
        for (int h = 0; h < r.heads; ++h) {
            Json row = Json::array(), massQ = Json::array(), selQ = Json::array();
            for (int q = 0; q < Q; ++q) {
                row.push(static_cast<double>(r.entropyAt(l, h, r.queryBegin + q)));
                Json m = Json::array(), s = Json::array();
                for (int c = 0; c < P; ++c) {
                    m.push(static_cast<double>(r.chunkMassAt(l, h, q, c)));
                    if (r.selectedAt(l, h, q, c)) s.push(c);
                }
                massQ.push(std::move(m));
                selQ.push(std::move(s));
            }
            byHead.push(std::move(row));
            massHead.push(std::move(massQ));
            selHead.push(std::move(selQ));
        }
        qe.push(std::move(byHead));
        cm.push(std::move(massHead));
        sel.push(std::move(selHead));
        Json ctx = Json::array();
        for (int t = 0; t < r.tokens; ++t) ctx.push(static_cast<double>(r.headMeanEntropy(l, t)));
        ce.push(std::move(ctx));
        le.push(r.layerQueryEntropy(l));
    }
    j["query_entropy"] = std::move(qe);
    Json nll = Json::array(), am = Json::array();
    for (int q = 0; q < Q; ++q) {
        nll.push(numberOrNull(r.nllNext[static_cast<std::size_t>(q)]));
        am.push(r.argmaxNext[static_cast<std::size_t>(q)]);
    }
    j["query_nll_next"] = std::move(nll);
    j["query_argmax_next"] = std::move(am);
    j["layer_entropy"] = std::move(le);
    j["mean_entropy"] = r.meanQueryEntropy();
    j["perplexity"] = r.perplexity();
    j["context_entropy"] = std::move(ce);
    j["chunk_mass"] = std::move(cm);
    j["selected_chunks"] = std::move(sel);
    return j;
}

std::string entropyToCsv(const EncodingPlan& plan, const AnalysisResult& r) {
    std::string s = "layer,head,token,segment,chunk,position,entropy\n";
    char buf[128];
    for (int l = 0; l < r.layers; ++l)
        for (int h = 0; h < r.heads; ++h)
            for (int t = 0; t < r.tokens; ++t) {
                std::snprintf(buf, sizeof buf, "%d,%d,%d,%s,%d,%d,%.6f\n", l, h, t,
                              toString(plan.segment[static_cast<std::size_t>(t)]),
                              plan.chunk[static_cast<std::size_t>(t)], plan.positions[static_cast<std::size_t>(t)],
                              static_cast<double>(r.entropyAt(l, h, t)));
                s += buf;
            }
    return s;
}

}  // namespace attnscope
