#include "generation/generation_io.h"

#include "analysis/result_io.h"
#include "generation/answer_match.h"

namespace attnscope {

namespace {

Json tokenJson(const GeneratedToken& t, const Tokenizer* tok) {
    Json top = Json::array();
    for (const auto& alt : t.top)
        top.push(Json::Object{
            {"id", alt.id}, {"piece", tok ? tok->tokenText(alt.id) : std::string()}, {"logprob", alt.logProb}});
    Json layerEntropy = Json::array(), chunkMass = Json::array(), selected = Json::array();
    for (int l = 0; l < t.layers; ++l) {
        layerEntropy.push(t.layerEntropy(l));
        Json mass = Json::array(), kept = Json::array();
        for (int c = 0; c < t.chunks; ++c) mass.push(t.layerChunkMass(l, c));
        for (int c : t.selectedChunks(l)) kept.push(c);
        chunkMass.push(std::move(mass));
        selected.push(std::move(kept));
    }
    return Json::Object{{"id", t.id},
                        {"piece", t.piece},
                        {"logprob", t.logProb},
                        {"top", std::move(top)},
                        {"entropy", t.meanEntropy()},
                        {"layer_entropy", std::move(layerEntropy)},
                        {"chunk_mass", std::move(chunkMass)},
                        {"selected_chunks", std::move(selected)},
                        {"ms", t.elapsedMs}};
}

}  // namespace

Json generationToJson(const GenerationResult& r, const std::string& method, const Tokenizer* tok,
                      const std::vector<std::string>& answers) {
    Json ids = Json::array(), tokens = Json::array();
    for (const auto& t : r.tokens) {
        ids.push(t.id);
        tokens.push(tokenJson(t, tok));
    }
    Json j = Json::Object{{"method", method},
                          {"options", optionsToJson(r.plan)},
                          {"method_line", describe(r.plan.options)},
                          {"backend", r.backend},
                          {"prompt_tokens", r.plan.tokenCount()},
                          {"generated_ids", std::move(ids)},
                          {"text", r.text},
                          {"stop_reason", toString(r.stop)},
                          {"prompt_entropy", r.prompt.meanQueryEntropy()},
                          {"call_mean_entropy", r.callMeanEntropy()},
                          {"prompt_ms", r.promptMs},
                          {"ms_per_token", r.msPerToken()},
                          {"tokens", std::move(tokens)}};
    if (r.stop == StopReason::StopString) j["stop_string"] = r.stopString;
    if (r.stop == StopReason::EndOfSequence) j["stop_id"] = r.stopId;
    if (!answers.empty()) j["correct"] = subEmMatch(r.text, answers);
    return j;
}

}  // namespace attnscope
