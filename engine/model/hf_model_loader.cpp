#include "model/hf_model_loader.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "model/safetensors_reader.h"

namespace fs = std::filesystem;

namespace attnscope {

namespace {

#define ATTN_ASSIGN(var, expr)                          \
    auto var##_r_ = (expr);                             \
    if (!var##_r_.ok()) return var##_r_.takeError();    \
    auto var = std::move(var##_r_.value())

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
        if (!v->isNumber() || !std::isfinite(v->asNumber())) return format("\"" + prefix_ + key + "\" must be a number");
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
    Result<std::int64_t> reqInt(const char* key, std::int64_t lo, std::int64_t hi) const {
        ATTN_ASSIGN(v, integer(key, lo, hi));
        if (!v) return format("missing required key \"" + prefix_ + key + "\"");
        return *v;
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

std::string shapeText(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

std::string numberText(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

// RoPE scaling from `j`: the "rope_scaling" object of older configs, or transformers 5's
// "rope_parameters" (the same fields beside rope_theta). `label` names it in messages.
Result<RopeScaling> ropeScalingFromJson(const ConfigKeys& k, const Json* j, const std::string& label) {
    RopeScaling rs;
    if (!j) return rs;
    if (!j->isObject()) return k.format("\"" + label + "\" must be an object or null");
    ConfigKeys r(*j, "", label + ".");
    auto reFile = [&](Error e) { return k.format(e.message); };
    auto type = r.string("rope_type");
    if (!type) return reFile(type.takeError());
    if (!*type) {
        type = r.string("type");
        if (!type) return reFile(type.takeError());
    }
    const std::string t = type->value_or("default");
    if (t == "default") return rs;
    auto factor = r.num("factor");
    if (!factor) return reFile(factor.takeError());
    if (!*factor || !(**factor > 0)) return k.format(label + " \"" + t + "\" needs a positive \"factor\"");
    rs.factor = static_cast<float>(**factor);
    if (t == "linear") {
        rs.kind = RopeScaling::Kind::Linear;
    } else if (t == "llama3") {
        rs.kind = RopeScaling::Kind::Llama3;
        auto lo = r.num("low_freq_factor");
        auto hi = r.num("high_freq_factor");
        auto orig = r.integer("original_max_position_embeddings", 1, 1 << 30);
        if (!lo) return reFile(lo.takeError());
        if (!hi) return reFile(hi.takeError());
        if (!orig) return reFile(orig.takeError());
        rs.lowFreqFactor = static_cast<float>(lo->value_or(1.0));
        rs.highFreqFactor = static_cast<float>(hi->value_or(4.0));
        rs.originalContextLength = static_cast<int>(orig->value_or(8192));
        if (!(rs.highFreqFactor > rs.lowFreqFactor) || !(rs.lowFreqFactor > 0))
            return k.format(label + " llama3 needs 0 < low_freq_factor < high_freq_factor");
    } else {
        return k.unsupported(label + " type \"" + t + "\" is not supported (linear, llama3)");
    }
    return rs;
}

}  // namespace

Result<ModelConfig> hfConfigFromJson(const Json& root, const std::string& file) {
    ConfigKeys top(root, file);
    if (!root.isObject()) return top.format("config.json is not a JSON object");
    ATTN_ASSIGN(modelType, top.string("model_type"));
    if (!modelType) return top.format("config.json has no \"model_type\"");

    ModelConfig c;
    const std::string mt = *modelType;
    const Json* textObj = &root;
    std::string prefix;
    if (mt == "llama" || mt == "mistral") {
        c.arch = Architecture::Llama;
    } else if (mt == "qwen2") {
        c.arch = Architecture::Qwen2;
    } else if (mt == "gemma3_text" || mt == "gemma3") {
        c.arch = Architecture::Gemma3;
        if (mt == "gemma3") {
            const Json* tc = top.find("text_config");
            if (!tc || !tc->isObject()) return top.format("gemma3 config.json has no \"text_config\" object");
            textObj = tc;
            prefix = "text_config.";
        }
    } else {
        return top.unsupported("model_type \"" + mt + "\" is not supported (llama, mistral, qwen2, gemma3)");
    }
    ConfigKeys k(*textObj, file, prefix);
    const bool gemma = c.arch == Architecture::Gemma3;
    constexpr std::int64_t kBig = 1 << 30;

    // Gemma3TextConfig's defaults apply to keys a gemma3 config leaves out; llama-family configs
    // must spell out the sizes.
    auto size = [&](const char* key, std::int64_t gemmaDefault) -> Result<std::int64_t> {
        ATTN_ASSIGN(v, k.integer(key, 1, kBig));
        if (v) return *v;
        if (gemma) return gemmaDefault;
        return k.format("missing required key \"" + prefix + key + "\"");
    };
    ATTN_ASSIGN(dim, size("hidden_size", 2304));
    ATTN_ASSIGN(ffn, size("intermediate_size", 9216));
    ATTN_ASSIGN(layers, size("num_hidden_layers", 26));
    ATTN_ASSIGN(heads, size("num_attention_heads", 8));
    ATTN_ASSIGN(kvHeads, k.integer("num_key_value_heads", 1, kBig));
    ATTN_ASSIGN(headDim, k.integer("head_dim", 1, kBig));
    ATTN_ASSIGN(vocab, k.integer("vocab_size", 1, kBig));
    ATTN_ASSIGN(maxPos, k.integer("max_position_embeddings", 0, kBig));
    ATTN_ASSIGN(eps, k.num("rms_norm_eps"));
    ATTN_ASSIGN(theta, k.num("rope_theta"));
    // transformers 5 writes "rope_parameters" ({"rope_type", "rope_theta", scaling fields}; for
    // gemma3 one such object per layer type, "full_attention" and "sliding_attention") where older
    // configs have "rope_theta", "rope_scaling" and "rope_local_base_freq". Both forms are read;
    // the older keys win when a config has both.
    const Json* ropeGlobal = nullptr;
    const Json* ropeLocal = nullptr;
    std::string ropeGlobalLabel = prefix + "rope_parameters";
    if (const Json* rp = k.find("rope_parameters")) {
        if (!rp->isObject()) return k.format("\"" + prefix + "rope_parameters\" must be an object");
        ropeGlobal = rp;
        if (const Json* full = rp->find("full_attention")) {
            ropeGlobal = full;
            ropeGlobalLabel += ".full_attention";
            ropeLocal = rp->find("sliding_attention");
        }
        if (!ropeGlobal->isObject() || (ropeLocal && !ropeLocal->isObject()))
            return k.format("\"" + prefix + "rope_parameters\" entries must be objects");
        if (!theta) {
            ConfigKeys rk(*ropeGlobal, "", ropeGlobalLabel + ".");
            auto t = rk.num("rope_theta");
            if (!t) return k.format(t.error().message);
            theta = *t;
        }
    }
    ATTN_ASSIGN(partialRotary, k.num("partial_rotary_factor"));
    ATTN_ASSIGN(tie, k.boolean("tie_word_embeddings"));
    ATTN_ASSIGN(tieTop, top.boolean("tie_word_embeddings"));

    c.dim = static_cast<int>(dim);
    c.ffnDim = static_cast<int>(ffn);
    c.nLayers = static_cast<int>(layers);
    c.nHeads = static_cast<int>(heads);
    c.nKvHeads = kvHeads ? static_cast<int>(*kvHeads) : (gemma ? 4 : c.nHeads);
    if (headDim) {
        c.headDim = static_cast<int>(*headDim);
    } else if (gemma) {
        c.headDim = 256;
    } else {
        if (c.dim % c.nHeads != 0)
            return k.format("invalid model dimensions: num_attention_heads " + std::to_string(c.nHeads) +
                            " does not divide hidden_size " + std::to_string(c.dim));
        c.headDim = c.dim / c.nHeads;
    }
    c.vocabSize = vocab ? static_cast<int>(*vocab) : 0;
    c.contextLength = maxPos ? static_cast<int>(*maxPos) : (gemma ? 131072 : 0);
    c.normEps = static_cast<float>(eps.value_or(1e-6));
    c.ropeTheta = static_cast<float>(theta.value_or(gemma ? 1000000.0 : 10000.0));
    c.ropeDim = c.headDim;
    if (partialRotary && *partialRotary != 1.0) {
        if (!(*partialRotary > 0 && *partialRotary < 1)) return k.format("\"partial_rotary_factor\" must be in (0, 1]");
        c.ropeDim = static_cast<int>(std::lround(c.headDim * *partialRotary));
    }
    c.ropeLayout = RopeLayout::RotateHalf;
    const Json* scalingJson = k.find("rope_scaling");
    ATTN_ASSIGN(scaling, scalingJson ? ropeScalingFromJson(k, scalingJson, prefix + "rope_scaling")
                                     : ropeScalingFromJson(k, ropeGlobal, ropeGlobalLabel));
    c.ropeScaling = scaling;
    c.tiedOutput = tie ? *tie : tieTop ? *tieTop : gemma;

    if (c.arch == Architecture::Llama) {
        ATTN_ASSIGN(act, k.string("hidden_act"));
        if (act && *act != "silu") return k.unsupported("hidden_act \"" + *act + "\" is not supported (silu)");
        ATTN_ASSIGN(attnBias, k.boolean("attention_bias"));
        if (attnBias && *attnBias) return k.unsupported("\"attention_bias\": true is not supported");
        ATTN_ASSIGN(mlpBias, k.boolean("mlp_bias"));
        if (mlpBias && *mlpBias) return k.unsupported("\"mlp_bias\": true is not supported");
    } else if (c.arch == Architecture::Qwen2) {
        ATTN_ASSIGN(act, k.string("hidden_act"));
        if (act && *act != "silu") return k.unsupported("hidden_act \"" + *act + "\" is not supported (silu)");
        ATTN_ASSIGN(swa, k.boolean("use_sliding_window"));
        if (swa && *swa) return k.unsupported("qwen2 \"use_sliding_window\": true is not supported");
        c.qkvBias = true;
    } else {
        ATTN_ASSIGN(act, k.string("hidden_activation"));
        if (act && *act != "gelu_pytorch_tanh")
            return k.unsupported("hidden_activation \"" + *act + "\" is not supported (gelu_pytorch_tanh)");
        c.normAddOne = c.qkNorm = c.postAttnNorm = c.postFfnNorm = c.gegluTanh = true;
        c.embedScale = std::sqrt(static_cast<float>(c.dim));
        ATTN_ASSIGN(qpas, k.num("query_pre_attn_scalar"));
        double q = qpas.value_or(256.0);
        if (!(q > 0)) return k.format("\"query_pre_attn_scalar\" must be positive");
        c.queryScale = static_cast<float>(1.0 / std::sqrt(q));
        ATTN_ASSIGN(window, k.integer("sliding_window", 0, kBig));
        c.slidingWindow = static_cast<int>(window.value_or(4096));
        ATTN_ASSIGN(localBase, k.num("rope_local_base_freq"));
        if (!localBase && ropeLocal) {
            const std::string label = prefix + "rope_parameters.sliding_attention";
            ConfigKeys rk(*ropeLocal, "", label + ".");
            auto t = rk.num("rope_theta");
            if (!t) return k.format(t.error().message);
            localBase = *t;
            // Sliding-window layers rotate without scaling (as in every Gemma 3 checkpoint).
            ATTN_ASSIGN(localScaling, ropeScalingFromJson(k, ropeLocal, label));
            if (localScaling.kind != RopeScaling::Kind::None)
                return k.unsupported("RoPE scaling of the sliding-window layers (\"" + label + "\") is not supported");
        }
        c.ropeThetaLocal = static_cast<float>(localBase.value_or(10000.0));
        c.layerIsLocal.assign(static_cast<std::size_t>(c.nLayers), false);
        if (const Json* lt = k.find("layer_types")) {
            if (!lt->isArray() || lt->size() != static_cast<std::size_t>(c.nLayers))
                return k.format("\"" + prefix + "layer_types\" must list one entry per layer");
            for (std::size_t i = 0; i < lt->size(); ++i) {
                const Json& e = lt->asArray()[i];
                if (!e.isString() || (e.asString() != "sliding_attention" && e.asString() != "full_attention"))
                    return k.format("\"" + prefix + "layer_types\" entries must be \"sliding_attention\" or \"full_attention\"");
                c.layerIsLocal[i] = e.asString() == "sliding_attention";
            }
        } else {
            ATTN_ASSIGN(pattern, k.integer("sliding_window_pattern", 1, 1 << 16));
            const std::int64_t p = pattern.value_or(6);
            for (int i = 0; i < c.nLayers; ++i) c.layerIsLocal[static_cast<std::size_t>(i)] = (i + 1) % p != 0;
        }
    }
    return c;
}

namespace {

// The weight files of a folder: one model.safetensors or the shards of an index.
struct WeightSet {
    std::vector<SafetensorsFile> files;
    // tensor name → (file index, tensor)
    std::unordered_map<std::string, std::pair<std::size_t, const SafetensorsTensor*>> byName;
    std::string description;  // "model.safetensors" or "3 shards"
    std::string label;        // the file errors about missing tensors name: the weights or the index
};

Result<WeightSet> openWeights(const fs::path& dir) {
    WeightSet ws;
    const fs::path index = dir / "model.safetensors.index.json";
    std::error_code ec;
    auto addFile = [&](SafetensorsFile f) -> Result<void> {
        std::size_t idx = ws.files.size();
        ws.files.push_back(std::move(f));
        const SafetensorsFile& sf = ws.files.back();
        for (const auto& t : sf.tensors()) {
            if (ws.byName.count(t.name))
                return makeError(ErrorKind::Format,
                                 "tensor '" + t.name + "' appears in more than one weight file (also in " +
                                     ws.files[ws.byName[t.name].first].path() + ")",
                                 sf.path());
            ws.byName.emplace(t.name, std::make_pair(idx, &t));
        }
        return {};
    };

    if (fs::is_regular_file(index, ec)) {
        const std::string ip = index.string();
        ATTN_ASSIGN(j, Json::parseFile(ip));
        const Json* wm = j.find("weight_map");
        if (!j.isObject() || !wm || !wm->isObject())
            return makeError(ErrorKind::Format, "index has no \"weight_map\" object", ip);
        std::map<std::string, std::vector<std::string>> byShard;  // shard → tensor names
        for (const auto& [name, shard] : wm->asObject()) {
            if (!shard.isString() || shard.asString().empty())
                return makeError(ErrorKind::Format, "weight_map entry '" + name + "' is not a file name", ip);
            const std::string& s = shard.asString();
            if (s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
                return makeError(ErrorKind::Format, "weight_map shard '" + s + "' must be a file name in the folder", ip);
            byShard[s].push_back(name);
        }
        if (byShard.empty()) return makeError(ErrorKind::Format, "weight_map is empty", ip);
        for (const auto& [shard, names] : byShard) {
            const fs::path sp = dir / shard;
            if (!fs::is_regular_file(sp, ec))
                return makeError(ErrorKind::Io,
                                 "shard '" + shard + "' listed in the index (" + std::to_string(names.size()) +
                                     " tensors) is missing",
                                 ip);
            ATTN_ASSIGN(f, SafetensorsFile::open(sp.string()));
            for (const auto& n : names)
                if (!f.findTensor(n))
                    return makeError(ErrorKind::Format,
                                     "tensor '" + n + "' is listed in the index for this shard but is not in it",
                                     sp.string());
            ATTN_TRY(addFile(std::move(f)));
        }
        ws.description = std::to_string(byShard.size()) + " shard" + (byShard.size() == 1 ? "" : "s");
        ws.label = ip;
        return ws;
    }

    fs::path single = dir / "model.safetensors";
    if (!fs::is_regular_file(single, ec)) {
        std::vector<fs::path> found;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.is_regular_file() && e.path().extension() == ".safetensors") found.push_back(e.path());
        if (found.empty())
            return makeError(ErrorKind::Format,
                             "no model.safetensors or model.safetensors.index.json in the folder", dir.string());
        if (found.size() > 1)
            return makeError(ErrorKind::Format,
                             "several .safetensors files but no model.safetensors.index.json to say which to use",
                             dir.string());
        single = found.front();
    }
    ATTN_ASSIGN(f, SafetensorsFile::open(single.string()));
    ATTN_TRY(addFile(std::move(f)));
    ws.description = single.filename().string();
    ws.label = single.string();
    return ws;
}

// Looks tensors up by name, checks shapes ([out][in] / [n], outermost first) and counts use.
class HfTensors {
public:
    // `label` names the weights in errors about absent tensors (the single file or the index).
    HfTensors(const WeightSet& ws, std::string label) : ws_(ws), label_(std::move(label)) {}

    Result<TensorView> get(const std::string& name, std::vector<std::int64_t> shape, bool required) {
        auto it = ws_.byName.find(name);
        if (it == ws_.byName.end()) {
            if (required) return makeError(ErrorKind::Format, "missing required tensor '" + name + "'", label_);
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

private:
    const WeightSet& ws_;
    std::string label_;
    std::set<std::string> used_;
};

}  // namespace

Result<LoadedModel> loadHfModel(const std::string& dirArg) {
    const fs::path dir(dirArg);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return makeError(ErrorKind::Io, "not a folder", dirArg);
    const fs::path configPath = dir / "config.json";
    if (!fs::is_regular_file(configPath, ec))
        return makeError(ErrorKind::Format, "missing config.json: not a Hugging Face model folder", configPath.string());
    const std::string cfgFile = configPath.string();
    ATTN_ASSIGN(root, Json::parseFile(cfgFile));
    ATTN_ASSIGN(config, hfConfigFromJson(root, cfgFile));

    LoadedModel m;
    m.path = dirArg;
    m.format = "safetensors";
    m.config = config;
    ModelConfig& c = m.config;
    c.name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();

    ATTN_ASSIGN(ws, openWeights(dir));
    for (const auto& f : ws.files) m.files.push_back(f.file());
    HfTensors tensors(ws, ws.label);

    // Where the language model's tensors live (gemma3 multimodal checkpoints nest them).
    std::string pre;
    for (const char* cand : {"model.", "language_model.model.", "model.language_model."})
        if (tensors.has(std::string(cand) + "embed_tokens.weight")) {
            pre = cand;
            break;
        }
    if (pre.empty()) return makeError(ErrorKind::Format, "missing required tensor 'model.embed_tokens.weight'", ws.label);
    std::string lmHead = "lm_head.weight";
    if (pre == "language_model.model.") lmHead = "language_model.lm_head.weight";

    // Vocabulary: the embedding's rows; config.json's vocab_size must agree when present.
    {
        const auto& [fi, t] = ws.byName.at(pre + "embed_tokens.weight");
        if (t->shape.size() != 2 || t->shape[0] <= 0 || t->shape[0] > (1 << 30))
            return makeError(ErrorKind::Format,
                             "tensor '" + pre + "embed_tokens.weight' has shape " + shapeText(t->shape) +
                                 ", expected [vocab, " + std::to_string(c.dim) + "]",
                             ws.files[fi].path(), t->fileOffset);
        const int rows = static_cast<int>(t->shape[0]);
        if (c.vocabSize != 0 && c.vocabSize != rows)
            return makeError(ErrorKind::Format,
                             "vocab_size " + std::to_string(c.vocabSize) + " in config.json but " + pre +
                                 "embed_tokens.weight has " + std::to_string(rows) + " rows",
                             cfgFile);
        c.vocabSize = rows;
    }
    ATTN_TRY(c.validate(cfgFile));

    const std::int64_t d = c.dim, qd = static_cast<std::int64_t>(c.nHeads) * c.headDim,
                       kvd = static_cast<std::int64_t>(c.nKvHeads) * c.headDim, f = c.ffnDim, v = c.vocabSize;
    ModelWeights& w = m.weights;
    ATTN_ASSIGN(emb, tensors.get(pre + "embed_tokens.weight", {v, d}, true));
    w.tokenEmbedding = emb;
    ATTN_ASSIGN(norm, tensors.get(pre + "norm.weight", {d}, true));
    w.outputNorm = norm;
    if (!c.tiedOutput) {
        ATTN_ASSIGN(head, tensors.get(lmHead, {v, d}, false));
        if (head.present()) w.output = head;
        else c.tiedOutput = true;
    }
    if (c.tiedOutput) w.output = w.tokenEmbedding;

    const bool gemma = c.arch == Architecture::Gemma3;
    w.layers.resize(static_cast<std::size_t>(c.nLayers));
    for (int i = 0; i < c.nLayers; ++i) {
        LayerWeights& L = w.layers[static_cast<std::size_t>(i)];
        const std::string p = pre + "layers." + std::to_string(i) + ".";
        auto get = [&](const char* n, std::vector<std::int64_t> shape, bool req) {
            return tensors.get(p + n, std::move(shape), req);
        };
        ATTN_ASSIGN(attnNorm, get("input_layernorm.weight", {d}, true));
        ATTN_ASSIGN(wq, get("self_attn.q_proj.weight", {qd, d}, true));
        ATTN_ASSIGN(wk, get("self_attn.k_proj.weight", {kvd, d}, true));
        ATTN_ASSIGN(wv, get("self_attn.v_proj.weight", {kvd, d}, true));
        ATTN_ASSIGN(wo, get("self_attn.o_proj.weight", {d, qd}, true));
        ATTN_ASSIGN(wGate, get("mlp.gate_proj.weight", {f, d}, true));
        ATTN_ASSIGN(wUp, get("mlp.up_proj.weight", {f, d}, true));
        ATTN_ASSIGN(wDown, get("mlp.down_proj.weight", {d, f}, true));
        L.attnNorm = attnNorm;
        L.wq = wq;
        L.wk = wk;
        L.wv = wv;
        L.wo = wo;
        L.wGate = wGate;
        L.wUp = wUp;
        L.wDown = wDown;
        if (c.qkvBias) {
            ATTN_ASSIGN(bq, get("self_attn.q_proj.bias", {qd}, true));
            ATTN_ASSIGN(bk, get("self_attn.k_proj.bias", {kvd}, true));
            ATTN_ASSIGN(bv, get("self_attn.v_proj.bias", {kvd}, true));
            L.bq = bq;
            L.bk = bk;
            L.bv = bv;
        }
        if (gemma) {
            // Gemma: post_attention_layernorm is the norm after attention; the FFN has its own
            // pre/post norms.
            ATTN_ASSIGN(pan, get("post_attention_layernorm.weight", {d}, true));
            ATTN_ASSIGN(ffnNorm, get("pre_feedforward_layernorm.weight", {d}, true));
            ATTN_ASSIGN(pfn, get("post_feedforward_layernorm.weight", {d}, true));
            ATTN_ASSIGN(qn, get("self_attn.q_norm.weight", {c.headDim}, true));
            ATTN_ASSIGN(kn, get("self_attn.k_norm.weight", {c.headDim}, true));
            L.postAttnNorm = pan;
            L.ffnNorm = ffnNorm;
            L.postFfnNorm = pfn;
            L.qNorm = qn;
            L.kNorm = kn;
        } else {
            // llama/qwen2: post_attention_layernorm is the pre-FFN norm.
            ATTN_ASSIGN(ffnNorm, get("post_attention_layernorm.weight", {d}, true));
            L.ffnNorm = ffnNorm;
        }
    }

    // Any other tensor of the language model would change the numbers: refuse rather than ignore.
    // (Old llama checkpoints store a rotary_emb.inv_freq buffer, which is recomputed anyway.)
    for (const auto& [name, loc] : ws.byName) {
        if (tensors.used().count(name) || name == lmHead) continue;
        if (name.rfind(pre, 0) != 0) continue;  // vision tower, projector, ...
        if (name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0) continue;
        return makeError(ErrorKind::Unsupported,
                         "tensor '" + name + "' is not used by the " + std::string(architectureName(c.arch)) +
                             " architecture (an unsupported variant of it?)",
                         ws.files[loc.first].path(), loc.second->fileOffset);
    }

    // --- tokenizer ---
    TokenizerSpec& tok = m.tokenizer;
    std::string tokNote;
    const fs::path spm = dir / "tokenizer.model";
    if (fs::is_regular_file(spm, ec)) {
        tok.kind = TokenizerSpec::Kind::SentencePieceFile;
        tok.modelFile = spm.string();
        tok.addBos = true;
        tokNote = "tokenizer.model (SentencePiece)";
    } else if (fs::is_regular_file(dir / "tokenizer.json", ec)) {
        tok.kind = TokenizerSpec::Kind::None;
        tokNote = "tokenizer.json only: not supported (add the model's SentencePiece tokenizer.model)";
    } else {
        tok.kind = TokenizerSpec::Kind::None;
        tokNote = "none (no tokenizer.model in the folder)";
    }
    ConfigKeys top(root, cfgFile);
    auto specialId = [&](const char* key, int& out) -> Result<void> {
        const Json* j = top.find(key);
        if (!j) return {};
        if (j->isArray() && j->size() > 0) j = &j->asArray()[0];  // e.g. "eos_token_id": [1, 106]
        if (!j->isNumber()) return top.format(std::string("\"") + key + "\" must be a token id");
        double x = j->asNumber();
        out = (x >= 0 && x < c.vocabSize && std::floor(x) == x) ? static_cast<int>(x) : -1;
        return {};
    };
    ATTN_TRY(specialId("bos_token_id", tok.bosId));
    ATTN_TRY(specialId("eos_token_id", tok.eosId));
    ATTN_TRY(specialId("pad_token_id", tok.padId));
    const fs::path tcPath = dir / "tokenizer_config.json";
    if (fs::is_regular_file(tcPath, ec)) {
        ATTN_ASSIGN(tc, Json::parseFile(tcPath.string()));
        if (const Json* ab = tc.find("add_bos_token"); ab && ab->isBool()) tok.addBos = ab->asBool();
    }

    // --- statistics and metadata for `info` ---
    for (const auto& name : tensors.used()) {
        const auto& [fi, t] = ws.byName.at(name);
        m.tensorTypeCounts[t->dtypeName] += 1;
        m.parameterCount += t->elements;
        m.weightBytes += t->bytes();
    }
    auto& md = m.metadata;
    md.emplace_back("format", "safetensors (" + ws.description + ")");
    md.emplace_back("architecture", architectureName(c.arch));
    md.emplace_back("model_type", root.find("model_type")->asString());
    md.emplace_back("name", c.name);
    if (const Json* td = root.find("torch_dtype"); td && td->isString()) md.emplace_back("torch_dtype", td->asString());
    md.emplace_back("context length", std::to_string(c.contextLength));
    md.emplace_back("rope base", numberText(c.ropeTheta));
    md.emplace_back("tokenizer", tokNote);
    md.emplace_back("vocab size", std::to_string(c.vocabSize));
    md.emplace_back("tensors", std::to_string(tensors.used().size()));
    for (const auto& [key, val] : root.asObject()) {
        if (val.isObject() || val.isArray() || val.isNull()) continue;
        md.emplace_back("config." + key, val.isString() ? val.asString() : val.dump());
    }
    return m;
}

}  // namespace attnscope
