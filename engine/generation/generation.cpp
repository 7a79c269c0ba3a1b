#include "generation/generation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "generation/token_choice.h"

namespace attnscope {

namespace {

constexpr int kTopAlternatives = 5;
constexpr int kMaxNewTokensLimit = 100000;

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<std::int32_t> stopTokenIds(const TokenizerSpec& spec) {
    std::vector<std::int32_t> ids;
    if (spec.eosId >= 0) ids.push_back(spec.eosId);
    ids.insert(ids.end(), spec.endOfTurnIds.begin(), spec.endOfTurnIds.end());
    static const char* const kEndOfTurnPieces[] = {"<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|end|>",
                                                   "<|eom_id|>"};
    constexpr std::int32_t kControl = 3;
    for (std::size_t t = 0; t < spec.tokens.size() && t < spec.tokenTypes.size(); ++t)
        if (spec.tokenTypes[t] == kControl && std::find(std::begin(kEndOfTurnPieces), std::end(kEndOfTurnPieces),
                                                        spec.tokens[t]) != std::end(kEndOfTurnPieces))
            ids.push_back(static_cast<std::int32_t>(t));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

const char* toString(StopReason r) {
    switch (r) {
        case StopReason::MaxTokens: return "max-tokens";
        case StopReason::EndOfSequence: return "eos";
        case StopReason::StopString: return "stop-string";
    }
    return "?";
}

double GeneratedToken::meanEntropy() const {
    if (entropy.empty()) return std::numeric_limits<double>::quiet_NaN();
    double s = 0;
    for (float e : entropy) s += e;
    return s / static_cast<double>(entropy.size());
}

double GeneratedToken::layerEntropy(int layer) const {
    double s = 0;
    for (int h = 0; h < heads; ++h) s += entropy[static_cast<std::size_t>(layer) * heads + h];
    return heads ? s / heads : std::numeric_limits<double>::quiet_NaN();
}

double GeneratedToken::layerChunkMass(int layer, int chunk) const {
    double s = 0;
    for (int h = 0; h < heads; ++h) s += chunkMass[(static_cast<std::size_t>(layer) * heads + h) * chunks + chunk];
    return heads ? s / heads : 0;
}

std::vector<int> GeneratedToken::selectedChunks(int layer) const {
    std::vector<int> out;
    for (int c = 0; c < chunks; ++c)
        for (int h = 0; h < heads; ++h)
            if (selected[(static_cast<std::size_t>(layer) * heads + h) * chunks + c]) {
                out.push_back(c);
                break;
            }
    return out;
}

std::vector<std::int32_t> GenerationResult::ids() const {
    std::vector<std::int32_t> v;
    for (const auto& t : tokens) v.push_back(t.id);
    return v;
}

double GenerationResult::callMeanEntropy() const {
    double s = prompt.meanQueryEntropy();
    for (const auto& t : tokens) s += t.meanEntropy();
    return s / static_cast<double>(1 + tokens.size());
}

Result<void> validateGenerationOptions(const GenerationOptions& o) {
    auto bad = [](const std::string& m) { return makeError(ErrorKind::InvalidInput, m); };
    if (o.maxNewTokens < 1 || o.maxNewTokens > kMaxNewTokensLimit)
        return bad("max-new-tokens must be between 1 and " + std::to_string(kMaxNewTokensLimit) + ", got " +
                   std::to_string(o.maxNewTokens));
    const SamplingOptions& s = o.sampling;
    if (!std::isfinite(s.temperature) || s.temperature < 0)
        return bad("the temperature must be 0 (greedy) or more, got " + std::to_string(s.temperature));
    if (s.topK < 0) return bad("top-k must be 0 (every token) or more, got " + std::to_string(s.topK));
    if (!(s.topP > 0 && s.topP <= 1)) return bad("top-p must lie in (0, 1], got " + std::to_string(s.topP));
    for (const auto& str : o.stopStrings)
        if (str.empty()) return bad("a stop string must not be empty");
    return {};
}

namespace {

// One generation in progress: the decoder, the next token's log-probabilities, the output.
class GenerationLoop {
public:
    GenerationLoop(const Tokenizer* tok, const GenerationOptions& o, GenerationResult& out)
        : tok_(tok), o_(o), out_(out), rng_(o.sampling.seed) {}

    // Chooses, appends and records one token; false when the generation ends before it.
    Result<bool> step(Decoder& decoder, std::stop_token stop) {
        const std::int32_t id = chooseToken(next_, o_.sampling, rng_);
        if (std::find(o_.stopIds.begin(), o_.stopIds.end(), id) != o_.stopIds.end()) {
            out_.stop = StopReason::EndOfSequence;
            out_.stopId = id;
            return false;
        }
        GeneratedToken t;
        t.id = id;
        t.logProb = next_[static_cast<std::size_t>(id)];
        t.top = topLogProbs(next_, kTopAlternatives);
        if (tok_) t.piece = tok_->tokenText(id);
        const auto t0 = std::chrono::steady_clock::now();
        ATTN_ASSIGN(row, decoder.append(id, stop));
        t.elapsedMs = msSince(t0);
        out_.decodeMs += t.elapsedMs;
        record(std::move(row), t);
        return !stopStringFound();
    }

    void setNext(std::vector<float> logProbs) { next_ = std::move(logProbs); }

private:
    void record(DecodeRow row, GeneratedToken& t) {
        t.layers = row.layers;
        t.heads = row.heads;
        t.chunks = row.chunks;
        t.entropy = std::move(row.entropy);
        t.chunkMass = std::move(row.chunkMass);
        t.prefixMass = std::move(row.prefixMass);
        t.queryMass = std::move(row.queryMass);
        t.selected = std::move(row.selected);
        next_ = std::move(row.logProbs);
        out_.tokens.push_back(std::move(t));
        if (tok_) out_.text = tok_->decode(out_.ids());
    }

    // The first stop string in the text so far cuts it there and ends the generation.
    bool stopStringFound() {
        std::size_t at = std::string::npos;
        for (const auto& s : o_.stopStrings) {
            const std::size_t p = out_.text.find(s);
            if (p != std::string::npos && (at == std::string::npos || p < at)) {
                at = p;
                out_.stopString = s;
            }
        }
        if (at == std::string::npos) return false;
        out_.text.resize(at);
        out_.stop = StopReason::StopString;
        return true;
    }

    const Tokenizer* tok_;
    const GenerationOptions& o_;
    GenerationResult& out_;
    std::mt19937_64 rng_;
    std::vector<float> next_;  // [vocab] ln p of the next token
};

}  // namespace

Result<GenerationResult> generate(Backend& backend, const Tokenizer* tokenizer, const EncodingPlan& plan,
                                  const GenerationOptions& options, std::stop_token stop,
                                  const TokenCallback& onToken) {
    ATTN_TRY(validateGenerationOptions(options));
    if (!tokenizer && !options.stopStrings.empty())
        return makeError(ErrorKind::InvalidInput, "stop strings need the model's tokenizer, and this model has none");
    GenerationResult out;
    out.plan = plan;
    RunRequest req;
    req.plan = &plan;
    req.keepState = true;
    req.keepQueryLogProbs = true;  // the last query row's: the first generated token's distribution
    ATTN_ASSIGN(prompt, backend.run(req, stop, nullptr));
    const auto V = prompt.stats.queryLogProbs.size() / static_cast<std::size_t>(std::max(1, plan.queryCount()));
    GenerationLoop loop(tokenizer, options, out);
    loop.setNext(std::vector<float>(prompt.stats.queryLogProbs.end() - static_cast<std::ptrdiff_t>(V),
                                    prompt.stats.queryLogProbs.end()));
    prompt.stats.queryLogProbs = {};
    out.prompt = std::move(prompt.stats);
    out.promptMs = out.prompt.elapsedMs;
    out.backend = out.prompt.backend;
    ATTN_ASSIGN(decoder, backend.startDecoding(plan, prompt.kept, options.maxNewTokens));
    prompt.kept.reset();
    for (int t = 0; t < options.maxNewTokens; ++t) {
        if (stop.stop_requested()) return makeError(ErrorKind::Cancelled, "cancelled");
        const std::size_t before = out.tokens.size();
        ATTN_ASSIGN(more, loop.step(*decoder, stop));
        if (onToken && out.tokens.size() > before) onToken(out.tokens.back());
        if (!more) return out;
    }
    out.stop = StopReason::MaxTokens;
    return out;
}

}  // namespace attnscope
