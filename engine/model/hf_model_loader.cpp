#include "model/hf_model_loader.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "model/model_loader.h"
#include "model/safetensors_reader.h"
#include "model/tensor_table.h"

namespace fs = std::filesystem;

namespace attnscope {

namespace {

// Typed access to config.json keys; null counts as absent (configs write "head_dim": null).
class ConfigKeys {
public:
    ConfigKeys(const Json& obj, std::string file, std::string prefix = {})
        : obj_(obj), file_(std::move(file)), prefix_(std::move(prefix)) {}

    Error format(const std::string& msg) const { return makeError(ErrorKind::Format, msg, file_); }
    Error unsupported(const std::string& msg) const { return makeError(ErrorKind::Unsupported, msg, file_); }

    const Json* find(const char* key) const {
        const Json* v = obj_.find(key);
        return v && !v->isNull() ? v : nullptr;
    }
    Result<std::optional<double>> num(const char* key) const {
        const Json* v = find(key);
        if (!v) return std::optional<double>{};
        if (!v->isNumber() || !std::isfinite(v->asNumber()))
            return format("\"" + prefix_ + key + "\" must be a number");
        return std::optional<double>(v->asNumber());
    }
    Result<std::optional<std::int64_t>> integer(const char* key, std::int64_t lo, std::int64_t hi) const {
        ATTN_ASSIGN(d, num(key));
        if (!d) return std::optional<std::int64_t>{};
        if (std::floor(*d) != *d) return format("\"" + prefix_ + key + "\" must be an integer");
        if (*d < static_cast<double>(lo) || *d > static_cast<double>(hi)) {
            std::ostringstream os;
            os << "\"" << prefix_ << key << "\" = " << *d << " is out of range [" << lo << ", " << hi << "]";
            return format(os.str());
        }
        return std::optional<std::int64_t>(static_cast<std::int64_t>(*d));
    }
    Result<std::optional<bool>> boolean(const char* key) const {
        const Json* v = find(key);
        if (!v) return std::optional<bool>{};
        if (!v->isBool()) return format("\"" + prefix_ + key + "\" must be true or false");
        return std::optional<bool>(v->asBool());
    }
    Result<std::optional<std::string>> string(const char* key) const {
        const Json* v = find(key);
        if (!v) return std::optional<std::string>{};
        if (!v->isString()) return format("\"" + prefix_ + key + "\" must be a string");
        return std::optional<std::string>(v->asString());
    }

private:
    const Json& obj_;
    std::string file_;
    std::string prefix_;
};

// A nested object's keys name no file; their errors are re-labelled with the config file of `k`.
template <typename T>
Result<T> inFileOf(const ConfigKeys& k, Result<T> r) {
    if (!r) return k.format(r.error().message);
    return r;
}

// ---- config.json -----------------------------------------------------------------------------

// RoPE scaling from `j`: the "rope_scaling" object of older configs, or transformers 5's
// "rope_parameters" (the same fields beside rope_theta). `label` names it in messages.
Result<RopeScaling> ropeScalingFromJson(const ConfigKeys& k, const Json* j, const std::string& label) {
    RopeScaling rs;
    if (!j) return rs;
    if (!j->isObject()) return k.format("\"" + label + "\" must be an object or null");
    ConfigKeys r(*j, "", label + ".");
    ATTN_ASSIGN(type, inFileOf(k, r.string("rope_type")));
    if (!type) ATTN_SET(type, inFileOf(k, r.string("type")));
    const std::string t = type.value_or("default");
    if (t == "default") return rs;
    ATTN_ASSIGN(factor, inFileOf(k, r.num("factor")));
    if (!factor || !(*factor > 0)) return k.format(label + " \"" + t + "\" needs a positive \"factor\"");
    rs.factor = static_cast<float>(*factor);
    if (t == "linear") {
        rs.kind = RopeScaling::Kind::Linear;
    } else if (t == "llama3") {
        rs.kind = RopeScaling::Kind::Llama3;
        ATTN_ASSIGN(low, inFileOf(k, r.num("low_freq_factor")));
        ATTN_ASSIGN(high, inFileOf(k, r.num("high_freq_factor")));
        ATTN_ASSIGN(original, inFileOf(k, r.integer("original_max_position_embeddings", 1, kMaxHeaderInteger)));
        rs.lowFreqFactor = static_cast<float>(low.value_or(1.0));
        rs.highFreqFactor = static_cast<float>(high.value_or(4.0));
        rs.originalContextLength = static_cast<int>(original.value_or(8192));
        if (!(rs.highFreqFactor > rs.lowFreqFactor) || !(rs.lowFreqFactor > 0))
            return k.format(label + " llama3 needs 0 < low_freq_factor < high_freq_factor");
    } else {
        return k.unsupported(label + " type \"" + t + "\" is not supported (linear, llama3)");
    }
    return rs;
}

// "rope_theta" inside the rope parameters object `obj` labelled `label`.
Result<std::optional<double>> ropeThetaIn(const ConfigKeys& k, const Json& obj, const std::string& label) {
    return inFileOf(k, ConfigKeys(obj, "", label + ".").num("rope_theta"));
}

// The language model's settings: the top level, or "text_config" for gemma3's multimodal config.
struct TextConfig {
    Architecture arch = Architecture::Llama;
    const Json* obj = nullptr;
    std::string prefix;  // "" or "text_config.", for messages
};

Result<TextConfig> findTextConfig(const ConfigKeys& top, const Json& root) {
    ATTN_ASSIGN(modelType, top.string("model_type"));
    if (!modelType) return top.format("config.json has no \"model_type\"");
    const std::string mt = *modelType;
    TextConfig tc{Architecture::Llama, &root, {}};
    if (mt == "llama" || mt == "mistral") return tc;
    if (mt == "qwen2") {
        tc.arch = Architecture::Qwen2;
        return tc;
    }
    if (mt != "gemma3_text" && mt != "gemma3")
        return top.unsupported("model_type \"" + mt + "\" is not supported (llama, mistral, qwen2, gemma3)");
    tc.arch = Architecture::Gemma3;
    if (mt == "gemma3") {
        tc.obj = top.find("text_config");
        if (!tc.obj || !tc.obj->isObject()) return top.format("gemma3 config.json has no \"text_config\" object");
        tc.prefix = "text_config.";
    }
    return tc;
}

// transformers 5 writes "rope_parameters" ({"rope_type", "rope_theta", scaling fields}; for
// gemma3 one such object per layer type, "full_attention" and "sliding_attention") where older
// configs have "rope_theta", "rope_scaling" and "rope_local_base_freq". Both forms are read;
// the older keys win when a config has both.
struct RopeParameters {
    const Json* global = nullptr;  // the global layers' object (or the only one)
    const Json* local = nullptr;   // gemma3's sliding_attention object
    std::string globalLabel;
};

Result<RopeParameters> findRopeParameters(const ConfigKeys& k, const std::string& prefix) {
    RopeParameters rp;
    rp.globalLabel = prefix + "rope_parameters";
    const Json* obj = k.find("rope_parameters");
    if (!obj) return rp;
    if (!obj->isObject()) return k.format("\"" + prefix + "rope_parameters\" must be an object");
    rp.global = obj;
    if (const Json* full = obj->find("full_attention")) {
        rp.global = full;
        rp.globalLabel += ".full_attention";
        rp.local = obj->find("sliding_attention");
    }
    if (!rp.global->isObject() || (rp.local && !rp.local->isObject()))
        return k.format("\"" + prefix + "rope_parameters\" entries must be objects");
    return rp;
}

// The keys every family shares, as stored (gemma3 configs may leave the sizes out).
struct CommonKeys {
    std::int64_t dim = 0, ffn = 0, layers = 0, heads = 0;
    std::optional<std::int64_t> kvHeads, headDim, vocab, maxPos;
    std::optional<double> eps, theta, partialRotary;
    std::optional<bool> tie, tieTop;
    RopeParameters rope;
};

Result<CommonKeys> readCommonKeys(const ConfigKeys& top, const ConfigKeys& k, const TextConfig& tc) {
    const bool gemma = tc.arch == Architecture::Gemma3;
    // Gemma3TextConfig's defaults apply to sizes a gemma3 config leaves out; llama-family
    // configs must spell them out.
    auto size = [&](const char* key, std::int64_t gemmaDefault) -> Result<std::int64_t> {
        ATTN_ASSIGN(v, k.integer(key, 1, kMaxHeaderInteger));
        if (v) return *v;
        if (gemma) return gemmaDefault;
        return k.format("missing required key \"" + tc.prefix + key + "\"");
    };
    CommonKeys h;
    ATTN_SET(h.dim, size("hidden_size", 2304));
    ATTN_SET(h.ffn, size("intermediate_size", 9216));
    ATTN_SET(h.layers, size("num_hidden_layers", 26));
    ATTN_SET(h.heads, size("num_attention_heads", 8));
    ATTN_SET(h.kvHeads, k.integer("num_key_value_heads", 1, kMaxHeaderInteger));
    ATTN_SET(h.headDim, k.integer("head_dim", 1, kMaxHeaderInteger));
    ATTN_SET(h.vocab, k.integer("vocab_size", 1, kMaxHeaderInteger));
    ATTN_SET(h.maxPos, k.integer("max_position_embeddings", 0, kMaxHeaderInteger));
    ATTN_SET(h.eps, k.num("rms_norm_eps"));
    ATTN_SET(h.theta, k.num("rope_theta"));
    ATTN_SET(h.rope, findRopeParameters(k, tc.prefix));
    if (!h.theta && h.rope.global) ATTN_SET(h.theta, ropeThetaIn(k, *h.rope.global, h.rope.globalLabel));
    ATTN_SET(h.partialRotary, k.num("partial_rotary_factor"));
    ATTN_SET(h.tie, k.boolean("tie_word_embeddings"));
    ATTN_SET(h.tieTop, top.boolean("tie_word_embeddings"));
    return h;
}

// Sizes (with gemma3's defaults), RoPE (partial rotary, scaling) and tied embeddings.
Result<void> applyCommonKeys(const ConfigKeys& k, const TextConfig& tc, const CommonKeys& h, ModelConfig& c) {
    const bool gemma = tc.arch == Architecture::Gemma3;
    c.dim = static_cast<int>(h.dim);
    c.ffnDim = static_cast<int>(h.ffn);
    c.nLayers = static_cast<int>(h.layers);
    c.nHeads = static_cast<int>(h.heads);
    c.nKvHeads = h.kvHeads ? static_cast<int>(*h.kvHeads) : (gemma ? 4 : c.nHeads);
    if (h.headDim) {
        c.headDim = static_cast<int>(*h.headDim);
    } else if (gemma) {
        c.headDim = 256;
    } else {
        if (c.dim % c.nHeads != 0)
            return k.format("invalid model dimensions: num_attention_heads " + std::to_string(c.nHeads) +
                            " does not divide hidden_size " + std::to_string(c.dim));
        c.headDim = c.dim / c.nHeads;
    }
    c.vocabSize = h.vocab ? static_cast<int>(*h.vocab) : 0;
    c.contextLength = h.maxPos ? static_cast<int>(*h.maxPos) : (gemma ? 131072 : 0);
    c.normEps = static_cast<float>(h.eps.value_or(1e-6));
    c.ropeTheta = static_cast<float>(h.theta.value_or(gemma ? 1000000.0 : 10000.0));
    c.ropeDim = c.headDim;
    if (h.partialRotary && *h.partialRotary != 1.0) {
        if (!(*h.partialRotary > 0 && *h.partialRotary < 1))
            return k.format("\"partial_rotary_factor\" must be in (0, 1]");
        c.ropeDim = static_cast<int>(std::lround(c.headDim * *h.partialRotary));
    }
    c.ropeLayout = RopeLayout::RotateHalf;
    const Json* scalingJson = k.find("rope_scaling");
    ATTN_SET(c.ropeScaling, scalingJson ? ropeScalingFromJson(k, scalingJson, tc.prefix + "rope_scaling")
                                        : ropeScalingFromJson(k, h.rope.global, h.rope.globalLabel));
    c.tiedOutput = h.tie ? *h.tie : h.tieTop ? *h.tieTop : gemma;
    return {};
}

Result<void> checkSiluActivation(const ConfigKeys& k) {
    ATTN_ASSIGN(act, k.string("hidden_act"));
    if (act && *act != "silu") return k.unsupported("hidden_act \"" + *act + "\" is not supported (silu)");
    return {};
}

Result<void> checkLlamaFeatures(const ConfigKeys& k) {
    ATTN_TRY(checkSiluActivation(k));
    ATTN_ASSIGN(attnBias, k.boolean("attention_bias"));
    if (attnBias && *attnBias) return k.unsupported("\"attention_bias\": true is not supported");
    ATTN_ASSIGN(mlpBias, k.boolean("mlp_bias"));
    if (mlpBias && *mlpBias) return k.unsupported("\"mlp_bias\": true is not supported");
    return {};
}

Result<void> setQwen2Features(const ConfigKeys& k, ModelConfig& c) {
    ATTN_TRY(checkSiluActivation(k));
    ATTN_ASSIGN(swa, k.boolean("use_sliding_window"));
    if (swa && *swa) return k.unsupported("qwen2 \"use_sliding_window\": true is not supported");
    c.qkvBias = true;
    return {};
}

// The sliding-window layers' RoPE base: rope_local_base_freq, else rope_parameters.sliding_attention
// (which must not scale: no Gemma 3 checkpoint does).
Result<std::optional<double>> readGemma3LocalBase(const ConfigKeys& k, const std::string& prefix,
                                                  const Json* ropeLocal) {
    ATTN_ASSIGN(localBase, k.num("rope_local_base_freq"));
    if (localBase || !ropeLocal) return localBase;
    const std::string label = prefix + "rope_parameters.sliding_attention";
    ATTN_SET(localBase, ropeThetaIn(k, *ropeLocal, label));
    ATTN_ASSIGN(localScaling, ropeScalingFromJson(k, ropeLocal, label));
    if (localScaling.kind != RopeScaling::Kind::None)
        return k.unsupported("RoPE scaling of the sliding-window layers (\"" + label + "\") is not supported");
    return localBase;
}

// Which layers are sliding-window ones: "layer_types", else every sliding_window_pattern-th
// layer is global.
Result<void> readGemma3LayerTypes(const ConfigKeys& k, const std::string& prefix, ModelConfig& c) {
    c.layerIsLocal.assign(static_cast<std::size_t>(c.nLayers), false);
    if (const Json* lt = k.find("layer_types")) {
        if (!lt->isArray() || lt->size() != static_cast<std::size_t>(c.nLayers))
            return k.format("\"" + prefix + "layer_types\" must list one entry per layer");
        for (std::size_t i = 0; i < lt->size(); ++i) {
            const Json& e = lt->asArray()[i];
            if (!e.isString() || (e.asString() != "sliding_attention" && e.asString() != "full_attention"))
                return k.format("\"" + prefix +
                                "layer_types\" entries must be \"sliding_attention\" or \"full_attention\"");
            c.layerIsLocal[i] = e.asString() == "sliding_attention";
        }
        return {};
    }
    ATTN_ASSIGN(pattern, k.integer("sliding_window_pattern", 1, 1 << 16));
    const std::int64_t p = pattern.value_or(6);
    for (int i = 0; i < c.nLayers; ++i) c.layerIsLocal[static_cast<std::size_t>(i)] = (i + 1) % p != 0;
    return {};
}

Result<void> setGemma3Features(const ConfigKeys& k, const std::string& prefix, const Json* ropeLocal, ModelConfig& c) {
    ATTN_ASSIGN(act, k.string("hidden_activation"));
    if (act && *act != "gelu_pytorch_tanh")
        return k.unsupported("hidden_activation \"" + *act + "\" is not supported (gelu_pytorch_tanh)");
    c.normAddOne = c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
    c.embedScale = std::sqrt(static_cast<float>(c.dim));
    ATTN_ASSIGN(qpas, k.num("query_pre_attn_scalar"));
    double q = qpas.value_or(256.0);
    if (!(q > 0)) return k.format("\"query_pre_attn_scalar\" must be positive");
    c.queryScale = static_cast<float>(1.0 / std::sqrt(q));
    ATTN_ASSIGN(window, k.integer("sliding_window", 0, kMaxHeaderInteger));
    c.slidingWindow = static_cast<int>(window.value_or(4096));
    ATTN_ASSIGN(localBase, readGemma3LocalBase(k, prefix, ropeLocal));
    c.ropeThetaLocal = static_cast<float>(localBase.value_or(10000.0));
    return readGemma3LayerTypes(k, prefix, c);
}

}  // namespace

Result<ModelConfig> hfConfigFromJson(const Json& root, const std::string& file) {
    ConfigKeys top(root, file);
    if (!root.isObject()) return top.format("config.json is not a JSON object");
    ATTN_ASSIGN(tc, findTextConfig(top, root));
    ConfigKeys k(*tc.obj, file, tc.prefix);
    ModelConfig c;
    c.arch = tc.arch;
    ATTN_ASSIGN(h, readCommonKeys(top, k, tc));
    ATTN_TRY(applyCommonKeys(k, tc, h, c));
    if (c.arch == Architecture::Llama) ATTN_TRY(checkLlamaFeatures(k));
    else if (c.arch == Architecture::Qwen2) ATTN_TRY(setQwen2Features(k, c));
    else ATTN_TRY(setGemma3Features(k, tc.prefix, h.rope.local, c));
    return c;
}

namespace {

// ---- the weight files ------------------------------------------------------------------------

// The weight files of a folder: one model.safetensors or the shards of an index.
struct WeightSet {
    std::vector<SafetensorsFile> files;
    // tensor name → (file index, tensor)
    std::unordered_map<std::string, std::pair<std::size_t, const SafetensorsTensor*>> byName;
    std::string description;  // "model.safetensors" or "3 shards"
    std::string label;        // the file errors about missing tensors name: the weights or the index

    // Adds a file's tensors; a name may appear in one file only.
    Result<void> add(SafetensorsFile f) {
        const std::size_t idx = files.size();
        files.push_back(std::move(f));
        const SafetensorsFile& sf = files.back();
        for (const auto& t : sf.tensors()) {
            if (byName.count(t.name))
                return makeError(ErrorKind::Format,
                                 "tensor '" + t.name + "' appears in more than one weight file (also in " +
                                     files[byName[t.name].first].path() + ")",
                                 sf.path());
            byName.emplace(t.name, std::make_pair(idx, &t));
        }
        return {};
    }
};

// model.safetensors.index.json's "weight_map", grouped: shard file name → tensor names.
Result<std::map<std::string, std::vector<std::string>>> readShardIndex(const std::string& indexPath) {
    ATTN_ASSIGN(j, Json::parseFile(indexPath));
    const Json* wm = j.find("weight_map");
    if (!j.isObject() || !wm || !wm->isObject())
        return makeError(ErrorKind::Format, "index has no \"weight_map\" object", indexPath);
    std::map<std::string, std::vector<std::string>> byShard;
    for (const auto& [name, shard] : wm->asObject()) {
        if (!shard.isString() || shard.asString().empty())
            return makeError(ErrorKind::Format, "weight_map entry '" + name + "' is not a file name", indexPath);
        const std::string& s = shard.asString();
        if (s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
            return makeError(ErrorKind::Format, "weight_map shard '" + s + "' must be a file name in the folder",
                             indexPath);
        byShard[s].push_back(name);
    }
    if (byShard.empty()) return makeError(ErrorKind::Format, "weight_map is empty", indexPath);
    return byShard;
}

// Every shard the index names, each holding the tensors the index lists for it.
Result<WeightSet> openShards(const fs::path& dir, const fs::path& index) {
    WeightSet ws;
    const std::string ip = index.string();
    ATTN_ASSIGN(byShard, readShardIndex(ip));
    std::error_code ec;
    for (const auto& [shard, names] : byShard) {
        const fs::path sp = dir / shard;
        if (!fs::is_regular_file(sp, ec))
            return makeError(
                ErrorKind::Io,
                "shard '" + shard + "' listed in the index (" + std::to_string(names.size()) + " tensors) is missing",
                ip);
        ATTN_ASSIGN(f, SafetensorsFile::open(sp.string()));
        for (const auto& n : names)
            if (!f.findTensor(n))
                return makeError(ErrorKind::Format,
                                 "tensor '" + n + "' is listed in the index for this shard but is not in it",
                                 sp.string());
        ATTN_TRY(ws.add(std::move(f)));
    }
    ws.description = std::to_string(byShard.size()) + " shard" + (byShard.size() == 1 ? "" : "s");
    ws.label = ip;
    return ws;
}

// model.safetensors, else the folder's only .safetensors file.
Result<WeightSet> openSingleFile(const fs::path& dir) {
    std::error_code ec;
    fs::path single = dir / "model.safetensors";
    if (!fs::is_regular_file(single, ec)) {
        std::vector<fs::path> found;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.is_regular_file() && e.path().extension() == ".safetensors") found.push_back(e.path());
        if (found.empty())
            return makeError(ErrorKind::Format, "no model.safetensors or model.safetensors.index.json in the folder",
                             dir.string());
        if (found.size() > 1)
            return makeError(ErrorKind::Format,
                             "several .safetensors files but no model.safetensors.index.json to say which to use",
                             dir.string());
        single = found.front();
    }
    WeightSet ws;
    ATTN_ASSIGN(f, SafetensorsFile::open(single.string()));
    ATTN_TRY(ws.add(std::move(f)));
    ws.description = single.filename().string();
    ws.label = single.string();
    return ws;
}

Result<WeightSet> openWeights(const fs::path& dir) {
    const fs::path index = dir / "model.safetensors.index.json";
    std::error_code ec;
    if (fs::is_regular_file(index, ec)) return openShards(dir, index);
    return openSingleFile(dir);
}

// Looks tensors up by name, checks shapes ([out][in] / [n], outermost first) and counts use.
class HfTensors {
public:
    explicit HfTensors(const WeightSet& ws) : ws_(ws) {}

    Result<TensorView> get(const std::string& name, std::vector<std::int64_t> shape, bool required) {
        auto it = ws_.byName.find(name);
        if (it == ws_.byName.end()) {
            if (required) return missingTensorError(name, ws_.label);
            return TensorView{};
        }
        const SafetensorsFile& f = ws_.files[it->second.first];
        const SafetensorsTensor& t = *it->second.second;
        if (t.shape != shape)
            return makeError(ErrorKind::Format,
                             "tensor '" + name + "' has shape " + shapeText(t.shape) + ", expected " + shapeText(shape),
                             f.path(), t.fileOffset);
        used_.insert(name);
        TensorView v;
        v.name = name;
        v.dtype = t.dtype;
        v.rows = shape.size() > 1 ? shape[0] : 1;
        v.cols = shape.back();
        v.data = f.tensorData(t);
        v.bytes = t.bytes();
        return v;
    }

    bool has(const std::string& name) const { return ws_.byName.count(name) != 0; }
    const std::set<std::string>& used() const { return used_; }
    const std::string& label() const { return ws_.label; }  // the weights file (or its index)

private:
    const WeightSet& ws_;
    std::set<std::string> used_;
};

// ---- the model -------------------------------------------------------------------------------

// Where the language model's tensors live (gemma3 multimodal checkpoints nest them): `prefix`
// for those inside it, `root` for those beside it (the output projection, "lm_head.weight").
struct TensorPlace {
    std::string prefix;  // "model.", "language_model.model." or "model.language_model."
    std::string root;    // "" or "language_model."
};

Result<TensorPlace> findLanguageModel(const HfTensors& tensors, const std::string& label) {
    TensorPlace place;
    for (const char* cand : {"model.", "language_model.model.", "model.language_model."})
        if (tensors.has(std::string(cand) + "embed_tokens.weight")) {
            place.prefix = cand;
            break;
        }
    if (place.prefix.empty()) return missingTensorError("model.embed_tokens.weight", label);
    place.root = place.prefix == "language_model.model." ? "language_model." : "";
    return place;
}

// Vocabulary: the embedding's rows; config.json's vocab_size must agree when present.
Result<void> readVocabSize(const WeightSet& ws, const std::string& prefix, const std::string& cfgFile, ModelConfig& c) {
    const auto& [fi, t] = ws.byName.at(prefix + "embed_tokens.weight");
    if (t->shape.size() != 2 || t->shape[0] <= 0 || t->shape[0] > kMaxHeaderInteger)
        return makeError(ErrorKind::Format,
                         "tensor '" + prefix + "embed_tokens.weight' has shape " + shapeText(t->shape) +
                             ", expected [vocab, " + std::to_string(c.dim) + "]",
                         ws.files[fi].path(), t->fileOffset);
    const int rows = static_cast<int>(t->shape[0]);
    if (c.vocabSize != 0 && c.vocabSize != rows)
        return makeError(ErrorKind::Format,
                         "vocab_size " + std::to_string(c.vocabSize) + " in config.json but " + prefix +
                             "embed_tokens.weight has " + std::to_string(rows) + " rows",
                         cfgFile);
    c.vocabSize = rows;
    return {};
}

// The model tensors, then every layer's. Biases, QK-norms and post-norms only where the config
// says the family has them (a tensor it does not expect is refused by checkAllUsed).
Result<void> readWeights(HfTensors& tensors, const TensorPlace& place, ModelConfig& c, ModelWeights& w,
                         const std::string& dir, std::stop_token stop) {
    for (const ModelTensor& t : modelTensors()) {
        if (t.optional && c.tiedOutput) continue;
        const std::string name = (t.atRoot ? place.root : place.prefix) + t.hf;
        // The output projection: an untied model (tie_word_embeddings false, the llama and
        // qwen2 default) must have its own; reusing the embedding would be another model.
        if (t.optional && !tensors.has(name))
            return makeError(ErrorKind::Format,
                             "missing tensor '" + name +
                                 "': config.json does not tie the output to the embedding (tie_word_embeddings is "
                                 "false or absent)",
                             tensors.label());
        ATTN_SET(w.*t.field, tensors.get(name, t.shape.safetensorsDims(c), !t.optional));
    }
    tieOutputWhenAbsent(c, w);
    w.layers.resize(static_cast<std::size_t>(c.nLayers));
    for (int i = 0; i < c.nLayers; ++i) {
        if (stop.stop_requested()) return loadCancelled(dir);
        for (const LayerTensor& t : layerTensors()) {
            if (!t.requiredBy(c)) continue;
            ATTN_SET(w.layers[static_cast<std::size_t>(i)].*t.field,
                     tensors.get(t.hfName(place.prefix, i, c), t.shape.safetensorsDims(c), true));
        }
    }
    return {};
}

// Any other tensor of the language model would change the numbers: refuse rather than ignore.
// (Old llama checkpoints store a rotary_emb.inv_freq buffer, which is recomputed anyway.)
Result<void> checkAllUsed(const WeightSet& ws, const HfTensors& tensors, const TensorPlace& place, Architecture arch) {
    for (const auto& [name, loc] : ws.byName) {
        if (tensors.used().count(name)) continue;
        if (name.rfind(place.prefix, 0) != 0) continue;  // vision tower, projector, ...
        if (name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0) continue;
        return unusedTensorError(name, architectureName(arch), ws.files[loc.first].path(), loc.second->fileOffset);
    }
    return {};
}

// ---- the tokenizer ---------------------------------------------------------------------------

// tokenizer.model when the folder has one; returns the note `info` shows about the tokenizer.
std::string findTokenizerModel(const fs::path& dir, TokenizerSpec& tok) {
    std::error_code ec;
    const fs::path spm = dir / "tokenizer.model";
    tok.kind = TokenizerSpec::Kind::None;
    if (fs::is_regular_file(spm, ec)) {
        tok.kind = TokenizerSpec::Kind::SentencePieceFile;
        tok.modelFile = spm.string();
        tok.addBos = true;
        return "tokenizer.model (SentencePiece)";
    }
    if (fs::is_regular_file(dir / "tokenizer.json", ec))
        return "tokenizer.json only: not supported (add the model's SentencePiece tokenizer.model)";
    return "none (no tokenizer.model in the folder)";
}

// Special ids from config.json (the first of a list; outside the vocabulary → -1), and
// tokenizer_config.json's add_bos_token.
Result<void> readTokenizerSettings(const fs::path& dir, const ConfigKeys& top, int vocabSize, TokenizerSpec& tok) {
    auto specialId = [&](const char* key, int& out) -> Result<void> {
        const Json* j = top.find(key);
        if (!j) return {};
        if (j->isArray() && j->size() > 0) j = &j->asArray()[0];  // e.g. "eos_token_id": [1, 106]
        if (!j->isNumber()) return top.format(std::string("\"") + key + "\" must be a token id");
        double x = j->asNumber();
        out = (x >= 0 && x < vocabSize && std::floor(x) == x) ? static_cast<int>(x) : -1;
        return {};
    };
    ATTN_TRY(specialId("bos_token_id", tok.bosId));
    if (const Json* b = top.find("bos_token_id"); b && b->isInteger() && b->asNumber() < 1e15)
        tok.declaredBosId = b->asInt();
    ATTN_TRY(specialId("eos_token_id", tok.eosId));
    ATTN_TRY(specialId("pad_token_id", tok.padId));
    if (const Json* e = top.find("eos_token_id"); e && e->isArray())  // e.g. [1, 106]: 106 ends a turn
        for (std::size_t i = 1; i < e->size(); ++i) {
            const Json& x = e->asArray()[i];
            if (x.isInteger() && x.asNumber() >= 0 && x.asNumber() < vocabSize)
                tok.endOfTurnIds.push_back(static_cast<std::int32_t>(x.asInt()));
        }
    const fs::path tcPath = dir / "tokenizer_config.json";
    std::error_code ec;
    if (fs::is_regular_file(tcPath, ec)) {
        ATTN_ASSIGN(tc, Json::parseFile(tcPath.string()));
        if (const Json* ab = tc.find("add_bos_token"); ab && ab->isBool()) tok.addBos = ab->asBool();
    }
    return {};
}

// ---- statistics and metadata for `info` ------------------------------------------------------

void countTensors(const WeightSet& ws, const HfTensors& tensors, LoadedModel& m) {
    for (const auto& name : tensors.used()) {
        const auto& [fi, t] = ws.byName.at(name);
        m.tensorTypeCounts[t->dtypeName] += 1;
        m.parameterCount += t->elements;
        m.weightBytes += t->bytes();
    }
}

void addMetadata(const Json& root, const WeightSet& ws, const std::string& tokNote, std::size_t tensorCount,
                 LoadedModel& m) {
    const ModelConfig& c = m.config;
    auto& md = m.metadata;
    md.emplace_back("format", "safetensors (" + ws.description + ")");
    md.emplace_back("architecture", architectureName(c.arch));
    md.emplace_back("model_type", root.find("model_type")->asString());
    md.emplace_back("name", c.name);
    if (const Json* td = root.find("torch_dtype"); td && td->isString()) md.emplace_back("torch_dtype", td->asString());
    md.emplace_back("context length", std::to_string(c.contextLength));
    md.emplace_back("rope base", metadataNumber(c.ropeTheta));
    md.emplace_back("tokenizer", tokNote);
    md.emplace_back("vocab size", std::to_string(c.vocabSize));
    md.emplace_back("tensors", std::to_string(tensorCount));
    for (const auto& [key, val] : root.asObject()) {
        if (val.isObject() || val.isArray() || val.isNull()) continue;
        md.emplace_back("config." + key, val.isString() ? val.asString() : val.dump());
    }
}

// config.json of the folder `dir`, parsed.
Result<Json> readConfigJson(const fs::path& dir, const std::string& dirArg) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return makeError(ErrorKind::Io, "not a folder", dirArg);
    const fs::path configPath = dir / "config.json";
    if (!fs::is_regular_file(configPath, ec))
        return makeError(ErrorKind::Format, "missing config.json: not a Hugging Face model folder",
                         configPath.string());
    return Json::parseFile(configPath.string());
}

}  // namespace

Result<LoadedModel> loadHfModel(const std::string& dirArg, std::stop_token stop) {
    const fs::path dir(dirArg);
    const std::string cfgFile = (dir / "config.json").string();
    ATTN_ASSIGN(root, readConfigJson(dir, dirArg));
    LoadedModel m;
    m.path = dirArg;
    m.format = "safetensors";
    ATTN_SET(m.config, hfConfigFromJson(root, cfgFile));
    ModelConfig& c = m.config;
    c.name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();

    ATTN_ASSIGN(ws, openWeights(dir));
    for (const auto& f : ws.files) m.files.push_back(f.file());
    HfTensors tensors(ws);
    ATTN_ASSIGN(place, findLanguageModel(tensors, ws.label));
    ATTN_TRY(readVocabSize(ws, place.prefix, cfgFile, c));
    ATTN_TRY(c.validate(cfgFile));
    if (stop.stop_requested()) return loadCancelled(dirArg);
    ATTN_TRY(readWeights(tensors, place, c, m.weights, dirArg, stop));
    ATTN_TRY(checkAllUsed(ws, tensors, place, c.arch));

    const std::string tokNote = findTokenizerModel(dir, m.tokenizer);
    ATTN_TRY(readTokenizerSettings(dir, ConfigKeys(root, cfgFile), c.vocabSize, m.tokenizer));
    countTensors(ws, tensors, m);
    addMetadata(root, ws, tokNote, tensors.used().size(), m);
    return m;
}

}  // namespace attnscope
