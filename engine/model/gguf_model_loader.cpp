#include "model/gguf_model_loader.h"

#include <cmath>
#include <filesystem>
#include <set>
#include <vector>

#include "model/model_loader.h"
#include "model/rope.h"
#include "model/tensor_table.h"

namespace attnscope {

std::string ggufFileTypeName(std::uint32_t ft) {
    switch (ft) {
        case 0: return "F32";
        case 1: return "F16";
        case 2: return "Q4_0";
        case 3: return "Q4_1";
        case 7: return "Q8_0";
        case 8: return "Q5_0";
        case 9: return "Q5_1";
        case 10: return "Q2_K";
        case 11: return "Q3_K_S";
        case 12: return "Q3_K_M";
        case 13: return "Q3_K_L";
        case 14: return "Q4_K_S";
        case 15: return "Q4_K_M";
        case 16: return "Q5_K_S";
        case 17: return "Q5_K_M";
        case 18: return "Q6_K";
        case 19: return "IQ2_XXS";
        case 20: return "IQ2_XS";
        case 21: return "Q2_K_S";
        case 22: return "IQ3_XS";
        case 23: return "IQ3_XXS";
        case 24: return "IQ1_S";
        case 25: return "IQ4_NL";
        case 26: return "IQ3_S";
        case 27: return "IQ3_M";
        case 28: return "IQ2_S";
        case 29: return "IQ2_M";
        case 30: return "IQ4_XS";
        case 31: return "IQ1_M";
        case 32: return "BF16";
        default: return "file type " + std::to_string(ft);
    }
}

namespace {

// Typed access to GGUF keys with errors that name the key and its byte offset.
class Keys {
public:
    explicit Keys(const GgufFile& g) : g_(g) {}

    const std::string& path() const { return g_.path(); }

    Error format(const std::string& msg, std::uint64_t at = 0) const {
        return makeError(ErrorKind::Format, msg, g_.path(), at ? std::optional<std::uint64_t>(at) : std::nullopt);
    }
    Error unsupported(const std::string& msg, std::uint64_t at = 0) const {
        return makeError(ErrorKind::Unsupported, msg, g_.path(), at ? std::optional<std::uint64_t>(at) : std::nullopt);
    }

    // Integer key in [lo, hi]; nullopt when absent. Arrays of identical integers (per-layer
    // values that do not vary) are accepted; varying ones are Unsupported.
    Result<std::optional<std::int64_t>> optInt(const std::string& key, std::int64_t lo, std::int64_t hi) const {
        const GgufValue* v = g_.find(key);
        if (!v) return std::optional<std::int64_t>{};
        std::uint64_t at = g_.keyOffset(key);
        std::optional<std::int64_t> x;
        if (v->isArray() && v->count > 0 && v->raw.size() > 0) {
            x = v->arrayInt(0);
            for (std::uint64_t k = 1; x && k < v->count; ++k)
                if (v->arrayInt(k) != x) return unsupported("per-layer values of '" + key + "' are not supported", at);
        } else if (v->isInteger()) {
            x = v->toInt();
        }
        if (!x) return format("key '" + key + "' must be an integer, not " + ggufTypeName(v->type), at);
        if (*x < lo || *x > hi)
            return format("key '" + key + "' = " + std::to_string(*x) + " is out of range [" + std::to_string(lo) +
                              ", " + std::to_string(hi) + "]",
                          at);
        return x;
    }
    Result<std::int64_t> reqInt(const std::string& key, std::int64_t lo, std::int64_t hi) const {
        auto v = optInt(key, lo, hi);
        if (!v) return v.takeError();
        if (!*v) return format("missing required key '" + key + "'");
        return **v;
    }
    Result<std::optional<double>> optFloat(const std::string& key) const {
        const GgufValue* v = g_.find(key);
        if (!v) return std::optional<double>{};
        auto d = v->toDouble();
        if (!d || !std::isfinite(*d)) return format("key '" + key + "' must be a finite number", g_.keyOffset(key));
        return d;
    }
    Result<std::optional<std::string>> optString(const std::string& key) const {
        const GgufValue* v = g_.find(key);
        if (!v) return std::optional<std::string>{};
        if (!v->isString())
            return format("key '" + key + "' must be a string, not " + ggufTypeName(v->type), g_.keyOffset(key));
        return std::optional<std::string>(v->s);
    }
    Result<std::optional<bool>> optBool(const std::string& key) const {
        const GgufValue* v = g_.find(key);
        if (!v) return std::optional<bool>{};
        auto b = v->toBool();
        if (!b) return format("key '" + key + "' must be a bool", g_.keyOffset(key));
        return b;
    }

private:
    const GgufFile& g_;
};

std::string ggufShapeText(const GgufTensorInfo& t) {
    std::vector<std::int64_t> dims;
    for (std::uint32_t d = 0; d < std::max<std::uint32_t>(t.nDims, 1); ++d)
        dims.push_back(static_cast<std::int64_t>(t.ne[d]));
    return shapeText(dims);
}

// Resolves tensors by name, checks shapes (ne0 first) and remembers which were used.
class Tensors {
public:
    Tensors(const GgufFile& g, const Keys& k) : g_(g), k_(k) {}

    // expectNe: dims in GGUF order (ne0 first); one entry for vectors, two for matrices.
    Result<TensorView> get(const std::string& name, std::vector<std::int64_t> expectNe, bool required) {
        const GgufTensorInfo* t = g_.findTensor(name);
        if (!t) {
            if (required) return missingTensorError(name, g_.path());
            return TensorView{};
        }
        used_.insert(name);
        bool ok = true;
        for (std::size_t d = 0; d < 4; ++d) {
            std::int64_t want = d < expectNe.size() ? expectNe[d] : 1;
            if (static_cast<std::int64_t>(t->ne[d]) != want) ok = false;
        }
        if (!ok)
            return k_.format("tensor '" + name + "' has shape " + ggufShapeText(*t) + " (ne0 first), expected " +
                                 shapeText(expectNe),
                             t->infoOffset);
        TensorView v;
        v.name = name;
        v.dtype = t->dtype;
        v.cols = static_cast<std::int64_t>(t->ne[0]);
        v.rows = expectNe.size() > 1 ? expectNe[1] : 1;
        v.data = g_.tensorData(*t);
        v.bytes = t->bytes;
        return v;
    }

    void markUsed(const std::string& name) { used_.insert(name); }
    const std::string& path() const { return g_.path(); }

    Result<void> checkAllUsed(const std::string& arch) const {
        for (const auto& t : g_.tensors())
            if (!used_.count(t.name)) return unusedTensorError(t.name, arch, g_.path(), t.infoOffset);
        return {};
    }

private:
    const GgufFile& g_;
    const Keys& k_;
    std::set<std::string> used_;
};

// llama.cpp stores llama-3 RoPE scaling as a per-frequency divisor tensor (rope_freqs.weight,
// [ropeDim/2]) rather than keys. Recover the llama3 parameters: factor = the largest divisor,
// low/high frequency factors 1 and 4 and the original context from the keys (default 8192),
// then check every divisor against the llama3 rule so a different scheme is never misread.
Result<RopeScaling> llama3FromRopeFreqs(const GgufFile& g, const Keys& k, const ModelConfig& c, const GgufTensorInfo& t,
                                        std::int64_t origCtx) {
    const int half = c.ropeDim / 2;
    if (t.nDims != 1 || t.ne[0] != static_cast<std::uint64_t>(half))
        return k.format(
            "tensor 'rope_freqs.weight' has shape " + ggufShapeText(t) + ", expected [" + std::to_string(half) + "]",
            t.infoOffset);
    std::vector<float> f(static_cast<std::size_t>(half));
    dequantizeRow(t.dtype, g.tensorData(t), f.data(), f.size());
    RopeScaling rs;
    rs.kind = RopeScaling::Kind::Llama3;
    rs.factor = 1.0f;
    for (float x : f) rs.factor = std::max(rs.factor, x);
    rs.lowFreqFactor = 1.0f;
    rs.highFreqFactor = 4.0f;
    rs.originalContextLength = static_cast<int>(origCtx);
    for (int i = 0; i < half; ++i) {
        // The divisor model/rope.h applies to pair i's unscaled frequency.
        const double freq = std::pow(static_cast<double>(c.ropeTheta), -2.0 * i / c.ropeDim);
        const double expect = freq / llama3ScaledFrequency(rs, freq);
        if (std::fabs(f[static_cast<std::size_t>(i)] - expect) > 1e-3 * expect)
            return k.unsupported("rope_freqs.weight does not follow llama3 RoPE scaling (entry " + std::to_string(i) +
                                     " is " + std::to_string(f[static_cast<std::size_t>(i)]) + ", expected " +
                                     std::to_string(expect) + ")",
                                 t.infoOffset);
    }
    return rs;
}

// ---- the model description -------------------------------------------------------------------

// general.architecture (one of ours, not a mixture of experts) and the model's name.
Result<std::string> readArchitecture(const GgufFile& g, const Keys& k, ModelConfig& c) {
    ATTN_ASSIGN(archName, k.optString("general.architecture"));
    if (!archName) return k.format("missing required key 'general.architecture'");
    const std::string a = *archName;
    if (a == "llama") c.arch = Architecture::Llama;
    else if (a == "qwen2") c.arch = Architecture::Qwen2;
    else if (a == "gemma3") c.arch = Architecture::Gemma3;
    else
        return k.unsupported("architecture '" + a + "' is not supported (supported: llama, qwen2, gemma3)",
                             g.keyOffset("general.architecture"));
    ATTN_ASSIGN(experts, k.optInt(a + ".expert_count", 0, 1 << 20));
    if (experts && *experts > 0)
        return k.unsupported("mixture-of-experts models (" + std::to_string(*experts) + " experts) are not supported",
                             g.keyOffset(a + ".expert_count"));
    ATTN_ASSIGN(name, k.optString("general.name"));
    c.name = name && !name->empty() ? *name : std::filesystem::path(g.path()).stem().string();
    return a;
}

// The <arch>.* hyper-parameter keys as stored, before defaults and cross-checks.
struct HyperParameterKeys {
    std::int64_t dim = 0, ffn = 0, layers = 0, heads = 0;
    std::optional<std::int64_t> kvHeads, keyLength, valueLength, ropeDim, contextLength, vocabSize;
    std::optional<double> freqBase, eps;
};

Result<HyperParameterKeys> readHyperParameterKeys(const Keys& k, const std::string& a) {
    HyperParameterKeys h;
    ATTN_SET(h.dim, k.reqInt(a + ".embedding_length", 1, kMaxHeaderInteger));
    ATTN_SET(h.ffn, k.reqInt(a + ".feed_forward_length", 1, kMaxHeaderInteger));
    ATTN_SET(h.layers, k.reqInt(a + ".block_count", 1, kMaxHeaderInteger));
    ATTN_SET(h.heads, k.reqInt(a + ".attention.head_count", 1, kMaxHeaderInteger));
    ATTN_SET(h.kvHeads, k.optInt(a + ".attention.head_count_kv", 1, kMaxHeaderInteger));
    ATTN_SET(h.keyLength, k.optInt(a + ".attention.key_length", 1, kMaxHeaderInteger));
    ATTN_SET(h.valueLength, k.optInt(a + ".attention.value_length", 1, kMaxHeaderInteger));
    ATTN_SET(h.ropeDim, k.optInt(a + ".rope.dimension_count", 1, kMaxHeaderInteger));
    ATTN_SET(h.contextLength, k.optInt(a + ".context_length", 0, kMaxHeaderInteger));
    ATTN_SET(h.vocabSize, k.optInt(a + ".vocab_size", 1, kMaxHeaderInteger));
    ATTN_SET(h.freqBase, k.optFloat(a + ".rope.freq_base"));
    ATTN_SET(h.eps, k.optFloat(a + ".attention.layer_norm_rms_epsilon"));
    if (!h.eps) return k.format("missing required key '" + a + ".attention.layer_norm_rms_epsilon'");
    return h;
}

// Sizes, head size (key_length, else dim / heads), RoPE base and epsilon.
Result<void> applyHyperParameters(const GgufFile& g, const Keys& k, const std::string& a, const HyperParameterKeys& h,
                                  ModelConfig& c) {
    c.dim = static_cast<int>(h.dim);
    c.ffnDim = static_cast<int>(h.ffn);
    c.nLayers = static_cast<int>(h.layers);
    c.nHeads = static_cast<int>(h.heads);
    c.nKvHeads = h.kvHeads ? static_cast<int>(*h.kvHeads) : c.nHeads;
    if (h.keyLength) {
        c.headDim = static_cast<int>(*h.keyLength);
    } else {
        if (c.dim % c.nHeads != 0)
            return k.format("invalid model dimensions: head count " + std::to_string(c.nHeads) +
                                " does not divide the embedding length " + std::to_string(c.dim),
                            g.keyOffset(a + ".attention.head_count"));
        c.headDim = c.dim / c.nHeads;
    }
    if (h.valueLength && *h.valueLength != c.headDim)
        return k.unsupported("value head size " + std::to_string(*h.valueLength) + " differs from key head size " +
                                 std::to_string(c.headDim),
                             g.keyOffset(a + ".attention.value_length"));
    c.ropeDim = h.ropeDim ? static_cast<int>(*h.ropeDim) : c.headDim;
    c.ropeTheta = h.freqBase ? static_cast<float>(*h.freqBase) : 10000.0f;
    c.normEps = static_cast<float>(*h.eps);
    c.contextLength = h.contextLength ? static_cast<int>(*h.contextLength) : 0;
    return {};
}

// Vocabulary = rows of the token embedding (ne1); a vocab_size key must agree.
Result<void> readVocabSize(const GgufFile& g, const Keys& k, const std::string& a, const HyperParameterKeys& h,
                           ModelConfig& c) {
    const GgufTensorInfo* embd = g.findTensor("token_embd.weight");
    if (!embd) return missingTensorError("token_embd.weight", g.path());
    if (embd->nDims != 2 || embd->ne[1] == 0 || embd->ne[1] > static_cast<std::uint64_t>(kMaxHeaderInteger))
        return k.format("tensor 'token_embd.weight' has shape " + ggufShapeText(*embd) + ", expected [" +
                            std::to_string(c.dim) + ", vocab]",
                        embd->infoOffset);
    c.vocabSize = static_cast<int>(embd->ne[1]);
    if (h.vocabSize && *h.vocabSize != c.vocabSize)
        return k.format("key '" + a + ".vocab_size' = " + std::to_string(*h.vocabSize) + " but token_embd.weight has " +
                            std::to_string(c.vocabSize) + " rows",
                        g.keyOffset(a + ".vocab_size"));
    return {};
}

// gemma3: norms (stored as 1 + w by the converter), QK-norm, GELU(tanh), embedding scale, and
// sliding-window layers (every `period`-th layer global) with their own RoPE base.
Result<void> setGemma3Features(const Keys& k, const std::string& a, bool hasFreqBase, ModelConfig& c) {
    c.ropeLayout = RopeLayout::RotateHalf;
    c.normAddOne = false;  // the converter already stored 1 + w
    c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
    c.embedScale = std::sqrt(static_cast<float>(c.dim));
    // llama.cpp: query_pre_attn_scalar is dim / heads for the 27B (62 layers), else the head size.
    if (c.nLayers == 62 && c.dim % c.nHeads == 0) c.queryScale = 1.0f / std::sqrt(static_cast<float>(c.dim / c.nHeads));
    ATTN_ASSIGN(window, k.optInt(a + ".attention.sliding_window", 0, kMaxHeaderInteger));
    c.slidingWindow = window ? static_cast<int>(*window) : 0;
    ATTN_ASSIGN(period, k.optInt(a + ".attention.sliding_window_pattern", 1, 1 << 16));
    const std::int64_t p = period ? *period : 6;
    c.layerIsLocal.resize(static_cast<std::size_t>(c.nLayers));
    for (int i = 0; i < c.nLayers; ++i) c.layerIsLocal[static_cast<std::size_t>(i)] = (i + 1) % p != 0;
    ATTN_ASSIGN(baseSwa, k.optFloat(a + ".rope.freq_base_swa"));
    c.ropeThetaLocal = baseSwa ? static_cast<float>(*baseSwa) : 10000.0f;
    if (!hasFreqBase) c.ropeTheta = 1000000.0f;
    return {};
}

Result<void> setFamilyFeatures(const Keys& k, const std::string& a, bool hasFreqBase, ModelConfig& c) {
    if (c.arch == Architecture::Llama) {
        c.ropeLayout = RopeLayout::AdjacentPairs;
    } else if (c.arch == Architecture::Qwen2) {
        c.ropeLayout = RopeLayout::RotateHalf;
        c.qkvBias = true;
    } else {
        ATTN_TRY(setGemma3Features(k, a, hasFreqBase, c));
    }
    return {};
}

// RoPE scaling from keys: rope.scaling.type none/linear with rope.scaling.factor, or the older
// rope.scale_linear. Returns rope.scaling.original_context_length (default 8192) for llama3
// scaling, which comes as the rope_freqs.weight tensor (readRopeFreqs).
Result<std::int64_t> readRopeScalingKeys(const GgufFile& g, const Keys& k, const std::string& a, ModelConfig& c) {
    ATTN_ASSIGN(scalingType, k.optString(a + ".rope.scaling.type"));
    ATTN_ASSIGN(scalingFactor, k.optFloat(a + ".rope.scaling.factor"));
    ATTN_ASSIGN(scaleLinear, k.optFloat(a + ".rope.scale_linear"));
    ATTN_ASSIGN(origCtx, k.optInt(a + ".rope.scaling.original_context_length", 1, kMaxHeaderInteger));
    if (scalingType && *scalingType != "none") {
        if (*scalingType != "linear")
            return k.unsupported("RoPE scaling '" + *scalingType + "' is not supported (none, linear, llama3)",
                                 g.keyOffset(a + ".rope.scaling.type"));
        if (!scalingFactor || !(*scalingFactor > 0))
            return k.format("linear RoPE scaling needs a positive '" + a + ".rope.scaling.factor'");
        c.ropeScaling.kind = RopeScaling::Kind::Linear;
        c.ropeScaling.factor = static_cast<float>(*scalingFactor);
    } else if (!scalingType && scaleLinear && *scaleLinear != 1.0) {
        if (!(*scaleLinear > 0)) return k.format("key '" + a + ".rope.scale_linear' must be positive");
        c.ropeScaling.kind = RopeScaling::Kind::Linear;
        c.ropeScaling.factor = static_cast<float>(*scaleLinear);
    }
    return origCtx ? *origCtx : 8192;
}

// rope_freqs.weight, when present, is llama3 scaling (checked entry by entry).
Result<void> readRopeFreqs(const GgufFile& g, const Keys& k, std::int64_t origCtx, Tensors& tensors, ModelConfig& c) {
    const GgufTensorInfo* rf = g.findTensor("rope_freqs.weight");
    if (!rf) return {};
    if (c.arch != Architecture::Llama || c.ropeScaling.kind != RopeScaling::Kind::None)
        return k.unsupported(
            "tensor 'rope_freqs.weight' (per-frequency RoPE factors) is only supported as llama3 scaling",
            rf->infoOffset);
    ATTN_ASSIGN(rs, llama3FromRopeFreqs(g, k, c, *rf, origCtx));
    c.ropeScaling = rs;
    tensors.markUsed("rope_freqs.weight");
    return {};
}

// Everything ModelConfig holds, from the keys (and the embedding's and rope_freqs' shapes).
Result<std::string> readModelConfig(const GgufFile& g, const Keys& k, Tensors& tensors, ModelConfig& c) {
    ATTN_ASSIGN(a, readArchitecture(g, k, c));
    ATTN_ASSIGN(h, readHyperParameterKeys(k, a));
    ATTN_TRY(applyHyperParameters(g, k, a, h, c));
    ATTN_TRY(readVocabSize(g, k, a, h, c));
    ATTN_TRY(setFamilyFeatures(k, a, h.freqBase.has_value(), c));
    ATTN_ASSIGN(origCtx, readRopeScalingKeys(g, k, a, c));
    ATTN_TRY(c.validate(g.path()));
    ATTN_TRY(readRopeFreqs(g, k, origCtx, tensors, c));
    return a;
}

// ---- the weights ---------------------------------------------------------------------------

// Q/K/V biases: required for qwen2, accepted for llama when all three are in every layer
// (layer 0 decides; c.qkvBias is set then).
Result<void> checkLayerBiases(const Keys& k, int layer, const LayerWeights& L, ModelConfig& c) {
    const std::string i = std::to_string(layer);
    if (L.bq.present() != L.bk.present() || L.bq.present() != L.bv.present())
        return k.format("layer " + i + " has only some of the Q/K/V biases");
    if (L.bq.present()) {
        if (layer == 0) c.qkvBias = true;
        else if (!c.qkvBias) return k.format("layer " + i + " has Q/K/V biases but layer 0 does not");
    } else if (c.qkvBias) {
        return missingTensorError("blk." + i + ".attn_q.bias", k.path());
    }
    return {};
}

Result<void> readLayer(Tensors& tensors, const Keys& k, int layer, ModelConfig& c, LayerWeights& L) {
    for (const LayerTensor& t : layerTensors()) {
        const bool required = t.requiredBy(c);
        if (!required && t.when != &ModelConfig::qkvBias) continue;  // biases are looked for in every model
        ATTN_SET(L.*t.field, tensors.get(t.ggufName(layer), t.shape.ggufDims(c), required));
    }
    return checkLayerBiases(k, layer, L, c);
}

Result<void> readWeights(Tensors& tensors, const Keys& k, const std::string& arch, ModelConfig& c, ModelWeights& w,
                         std::stop_token stop) {
    for (const ModelTensor& t : modelTensors())
        ATTN_SET(w.*t.field, tensors.get(t.gguf, t.shape.ggufDims(c), !t.optional));
    tieOutputWhenAbsent(c, w);
    w.layers.resize(static_cast<std::size_t>(c.nLayers));
    for (int i = 0; i < c.nLayers; ++i) {
        if (stop.stop_requested()) return loadCancelled(tensors.path());
        ATTN_TRY(readLayer(tensors, k, i, c, w.layers[static_cast<std::size_t>(i)]));
    }
    return tensors.checkAllUsed(arch);
}

// ---- statistics and metadata for `info` ------------------------------------------------------

void countTensors(const GgufFile& g, LoadedModel& m) {
    for (const auto& t : g.tensors()) {
        m.tensorTypeCounts[dtypeName(t.dtype)] += 1;
        m.parameterCount += t.elements;
        m.weightBytes += t.bytes;
    }
}

// At most 200 bytes, cut at a UTF-8 character boundary ("..." marks the cut).
std::string shortened(std::string s) {
    if (s.size() <= 200) return s;
    std::size_t cut = 197;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return s.substr(0, cut) + "...";
}

void addMetadata(const GgufFile& g, const std::string& arch, LoadedModel& m) {
    const ModelConfig& c = m.config;
    auto& md = m.metadata;
    md.emplace_back("format", "GGUF v" + std::to_string(g.version()));
    md.emplace_back("architecture", arch);
    md.emplace_back("name", c.name);
    if (const GgufValue* ft = g.find("general.file_type"); ft && ft->toUint())
        md.emplace_back("file type", ggufFileTypeName(static_cast<std::uint32_t>(*ft->toUint())));
    md.emplace_back("context length", std::to_string(c.contextLength));
    md.emplace_back("rope base", metadataNumber(c.ropeTheta));
    md.emplace_back("tokenizer model",
                    g.find("tokenizer.ggml.model") ? g.find("tokenizer.ggml.model")->display() : "none");
    md.emplace_back("vocab size", std::to_string(c.vocabSize));
    md.emplace_back("tensors", std::to_string(g.tensors().size()));
    md.emplace_back("alignment", std::to_string(g.alignment()));
    // Then every key as stored (long strings such as chat templates are cut).
    for (const auto& [key, val] : g.metadata()) md.emplace_back(key, shortened(val.display(4)));
}

// ---- the tokenizer ---------------------------------------------------------------------------

// tokenizer.ggml.tokens: required by a named tokenizer, covered by the embedding's rows.
Result<void> readTokens(const GgufFile& g, const Keys& k, const std::string& model, int vocabRows,
                        TokenizerSpec& spec) {
    if (const GgufValue* v = g.find("tokenizer.ggml.tokens")) {
        if (!v->isArray() || v->elemType != GgufType::String)
            return k.format("tokenizer.ggml.tokens must be an array of strings", g.keyOffset("tokenizer.ggml.tokens"));
        spec.tokens = v->strings;
    } else if (spec.kind != TokenizerSpec::Kind::None) {
        return k.format("tokenizer '" + model + "' has no tokenizer.ggml.tokens");
    }
    const std::uint64_t n = spec.tokens.size();
    if (vocabRows > 0 && n > static_cast<std::uint64_t>(vocabRows))
        return k.format("the tokenizer has " + std::to_string(n) + " tokens but the embedding has only " +
                            std::to_string(vocabRows) + " rows",
                        g.keyOffset("tokenizer.ggml.tokens"));
    return {};
}

bool isIntegerArrayType(GgufType t) {
    return t == GgufType::I32 || t == GgufType::U32 || t == GgufType::I8 || t == GgufType::U8 || t == GgufType::I16 ||
           t == GgufType::U16;
}

// tokenizer.ggml.scores and tokenizer.ggml.token_type: one entry per token when present.
Result<void> readScoresAndTypes(const GgufFile& g, const Keys& k, TokenizerSpec& spec) {
    const std::uint64_t n = spec.tokens.size();
    auto checkCount = [&](const GgufValue& v, const char* key) -> Result<void> {
        if (v.count == n) return {};
        return k.format(
            std::string(key) + " has " + std::to_string(v.count) + " entries for " + std::to_string(n) + " tokens",
            g.keyOffset(key));
    };
    if (const GgufValue* v = g.find("tokenizer.ggml.scores")) {
        if (!v->isArray() || (v->elemType != GgufType::F32 && v->elemType != GgufType::F64))
            return k.format("tokenizer.ggml.scores must be an array of floats", g.keyOffset("tokenizer.ggml.scores"));
        ATTN_TRY(checkCount(*v, "tokenizer.ggml.scores"));
        spec.scores.resize(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) spec.scores[i] = static_cast<float>(*v->arrayNumber(i));
    }
    if (const GgufValue* v = g.find("tokenizer.ggml.token_type")) {
        if (!v->isArray() || !isIntegerArrayType(v->elemType))
            return k.format("tokenizer.ggml.token_type must be an array of integers",
                            g.keyOffset("tokenizer.ggml.token_type"));
        ATTN_TRY(checkCount(*v, "tokenizer.ggml.token_type"));
        spec.tokenTypes.resize(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) spec.tokenTypes[i] = static_cast<std::int32_t>(*v->arrayInt(i));
    }
    return {};
}

// Special ids: absent, or out of the vocabulary (llama.cpp writes 0xFFFFFFFF for "none") → -1.
Result<void> readSpecialIds(const GgufFile& g, const Keys& k, TokenizerSpec& spec) {
    const std::uint64_t n = spec.tokens.size();
    auto id = [&](const char* key, int& out) -> Result<void> {
        const GgufValue* v = g.find(key);
        if (!v) return {};
        auto x = v->toInt();
        if (!v->isInteger()) return k.format(std::string("key '") + key + "' must be an integer", g.keyOffset(key));
        out = (x && *x >= 0 && static_cast<std::uint64_t>(*x) < n) ? static_cast<int>(*x) : -1;
        return {};
    };
    ATTN_TRY(id("tokenizer.ggml.bos_token_id", spec.bosId));
    if (const GgufValue* v = g.find("tokenizer.ggml.bos_token_id")) spec.declaredBosId = v->toInt().value_or(-1);
    ATTN_TRY(id("tokenizer.ggml.eos_token_id", spec.eosId));
    ATTN_TRY(id("tokenizer.ggml.unknown_token_id", spec.unkId));
    ATTN_TRY(id("tokenizer.ggml.padding_token_id", spec.padId));
    for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        int endOfTurn = -1;
        ATTN_TRY(id(key, endOfTurn));
        if (endOfTurn >= 0) spec.endOfTurnIds.push_back(endOfTurn);
    }
    return {};
}

// add_bos_token, add_space_prefix (both default to on for SentencePiece vocabularies, as in
// llama.cpp) and remove_extra_whitespaces.
Result<void> readTokenizerFlags(const Keys& k, TokenizerSpec& spec) {
    const bool spm = spec.kind == TokenizerSpec::Kind::SentencePieceEmbedded;
    ATTN_ASSIGN(addBos, k.optBool("tokenizer.ggml.add_bos_token"));
    spec.addBos = addBos ? *addBos : spm;
    ATTN_ASSIGN(addSpace, k.optBool("tokenizer.ggml.add_space_prefix"));
    spec.addSpacePrefix = addSpace ? *addSpace : spm;
    ATTN_ASSIGN(removeWs, k.optBool("tokenizer.ggml.remove_extra_whitespaces"));
    if (removeWs) spec.removeExtraWhitespaces = *removeWs;
    return {};
}

}  // namespace

Result<TokenizerSpec> ggufTokenizerSpec(const GgufFile& g, int vocabRows) {
    Keys k(g);
    TokenizerSpec spec;
    ATTN_ASSIGN(model, k.optString("tokenizer.ggml.model"));
    if (!model) return spec;
    if (*model == "llama") spec.kind = TokenizerSpec::Kind::SentencePieceEmbedded;
    else if (*model == "gpt2") spec.kind = TokenizerSpec::Kind::Gpt2Bpe;
    else spec.kind = TokenizerSpec::Kind::None;
    ATTN_TRY(readTokens(g, k, *model, vocabRows, spec));
    ATTN_TRY(readScoresAndTypes(g, k, spec));
    if (const GgufValue* v = g.find("tokenizer.ggml.merges")) {
        if (!v->isArray() || v->elemType != GgufType::String)
            return k.format("tokenizer.ggml.merges must be an array of strings", g.keyOffset("tokenizer.ggml.merges"));
        spec.merges = v->strings;
    }
    ATTN_ASSIGN(pre, k.optString("tokenizer.ggml.pre"));
    if (pre) spec.pre = *pre;
    ATTN_TRY(readSpecialIds(g, k, spec));
    ATTN_TRY(readTokenizerFlags(k, spec));
    return spec;
}

Result<LoadedModel> loadGgufModel(const GgufFile& g, std::stop_token stop) {
    Keys k(g);
    Tensors tensors(g, k);
    LoadedModel m;
    m.path = g.path();
    m.format = "gguf";
    m.files.push_back(g.file());
    ATTN_ASSIGN(arch, readModelConfig(g, k, tensors, m.config));
    ATTN_TRY(readWeights(tensors, k, arch, m.config, m.weights, stop));
    if (stop.stop_requested()) return loadCancelled(g.path());
    ATTN_ASSIGN(tok, ggufTokenizerSpec(g, m.config.vocabSize));
    m.tokenizer = std::move(tok);
    countTensors(g, m);
    addMetadata(g, arch, m);
    return m;
}

Result<LoadedModel> loadGgufModel(const std::string& path, std::stop_token stop) {
    auto g = GgufFile::open(path);
    if (!g) return g.takeError();
    return loadGgufModel(*g, stop);
}

}  // namespace attnscope
