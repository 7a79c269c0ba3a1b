// safetensors parser and Hugging Face folder loader: round trips, synthetic llama / qwen2 /
// gemma3 folders, and catalogues of corrupt safetensors files and broken folders (each must give
// an Error naming the file and the reason, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/model_writers.h"
#include "model/hf_model_loader.h"
#include "model/model_loader.h"
#include "model/safetensors_reader.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

std::vector<float> ramp(std::size_t n, float scale = 0.125f) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(static_cast<int>(i % 17) - 8);
    return v;
}

std::string meta(const LoadedModel& m, const std::string& key) {
    for (const auto& [k, v] : m.metadata)
        if (k == key) return v;
    return "<absent>";
}

// A tiny Hugging Face folder: llama, qwen2 (biases) or gemma3 (extra norms).
struct TinyHf {
    std::string modelType = "llama";
    int dim = 16, layers = 2, heads = 4, kvHeads = 2, ffn = 24, vocab = 12;
    bool tied = false;
    std::string prefix = "model.";
    test::HfFolder folder;

    TinyHf& build() {
        const bool gemma = modelType == "gemma3_text" || modelType == "gemma3";
        const std::int64_t d = dim, hd = dim / heads, kvd = hd * kvHeads, f = ffn, v = vocab;
        Json cfg = Json::object();
        cfg["model_type"] = modelType;
        Json text = Json::object();
        Json& c = modelType == "gemma3" ? text : cfg;
        c["hidden_size"] = dim;
        c["intermediate_size"] = ffn;
        c["num_hidden_layers"] = layers;
        c["num_attention_heads"] = heads;
        c["num_key_value_heads"] = kvHeads;
        c["head_dim"] = static_cast<int>(hd);
        c["rms_norm_eps"] = 1e-6;
        c["rope_theta"] = gemma ? 1000000.0 : 10000.0;
        c["vocab_size"] = vocab;
        c["max_position_embeddings"] = 256;
        c["tie_word_embeddings"] = tied;
        if (gemma) {
            c["query_pre_attn_scalar"] = 16;
            c["sliding_window"] = 8;
            c["rope_local_base_freq"] = 10000.0;
            c["hidden_activation"] = "gelu_pytorch_tanh";
        }
        if (modelType == "gemma3") cfg["text_config"] = std::move(text);
        cfg["bos_token_id"] = 1;
        Json eos = Json::array();
        eos.push(2);
        eos.push(7);
        cfg["eos_token_id"] = std::move(eos);
        folder.config = std::move(cfg);

        auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
            std::size_t n = 1;
            for (auto s : shape) n *= static_cast<std::size_t>(s);
            folder.tensors.push_back(test::HfTensor{name, std::move(shape), ramp(n)});
        };
        add(prefix + "embed_tokens.weight", {v, d});
        add(prefix + "norm.weight", {d});
        if (!tied) add(modelType == "gemma3" && prefix == "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight", {v, d});
        for (int i = 0; i < layers; ++i) {
            const std::string p = prefix + "layers." + std::to_string(i) + ".";
            add(p + "input_layernorm.weight", {d});
            add(p + "self_attn.q_proj.weight", {heads * hd, d});
            add(p + "self_attn.k_proj.weight", {kvd, d});
            add(p + "self_attn.v_proj.weight", {kvd, d});
            add(p + "self_attn.o_proj.weight", {d, heads * hd});
            add(p + "post_attention_layernorm.weight", {d});
            add(p + "mlp.gate_proj.weight", {f, d});
            add(p + "mlp.up_proj.weight", {f, d});
            add(p + "mlp.down_proj.weight", {d, f});
            if (modelType == "qwen2") {
                add(p + "self_attn.q_proj.bias", {heads * hd});
                add(p + "self_attn.k_proj.bias", {kvd});
                add(p + "self_attn.v_proj.bias", {kvd});
            }
            if (gemma) {
                add(p + "pre_feedforward_layernorm.weight", {d});
                add(p + "post_feedforward_layernorm.weight", {d});
                add(p + "self_attn.q_norm.weight", {hd});
                add(p + "self_attn.k_norm.weight", {hd});
            }
        }
        return *this;
    }

    void remove(const std::string& name) {
        std::erase_if(folder.tensors, [&](const test::HfTensor& t) { return t.name == name; });
    }
    void reshape(const std::string& name, std::vector<std::int64_t> shape) {
        for (auto& t : folder.tensors)
            if (t.name == name) {
                std::size_t n = 1;
                for (auto s : shape) n *= static_cast<std::size_t>(s);
                t.shape = std::move(shape);
                t.values = ramp(n);
            }
    }
    std::string write(const std::string& dir) const {
        auto r = test::writeHfFolder(dir, folder);
        EXPECT_TRUE(r.ok()) << r.error().describe();
        return dir;
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// safetensors reader

TEST(Safetensors, RoundTripsDtypesAndShapes) {
    test::TempDir dir("safetensors");
    test::SafetensorsWriter w;
    w.setMetadata("format", "pt");
    w.add("a", {3, 4}, DType::F32, ramp(12));
    w.add("b", {5}, DType::F16, ramp(5));
    w.add("c", {2, 2, 2}, DType::BF16, ramp(8));
    w.add("scalar", {}, DType::F32, {42.0f});
    w.add("empty", {0, 4}, DType::F32, {});
    const std::string path = dir.file("t.safetensors");
    ASSERT_TRUE(w.write(path).ok());
    auto f = SafetensorsFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().describe();
    EXPECT_EQ(f->tensors().size(), 5u);
    EXPECT_EQ(f->headerBytes() % 8, 0u);
    const SafetensorsTensor* a = f->findTensor("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->dtype, DType::F32);
    EXPECT_EQ(a->shape, (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(a->bytes(), 48u);
    EXPECT_EQ(a->fileOffset, f->dataOffset());
    std::vector<float> got(12);
    dequantizeRow(DType::F32, f->tensorData(*a), got.data(), 12);
    EXPECT_EQ(got, ramp(12));
    const SafetensorsTensor* b = f->findTensor("b");
    EXPECT_EQ(b->dtype, DType::F16);
    EXPECT_EQ(b->dtypeName, "F16");
    dequantizeRow(DType::F16, f->tensorData(*b), got.data(), 5);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i], ramp(5)[i]);
    const SafetensorsTensor* c = f->findTensor("c");
    EXPECT_EQ(c->dtype, DType::BF16);
    EXPECT_EQ(c->elements, 8u);
    EXPECT_EQ(f->findTensor("scalar")->elements, 1u);
    EXPECT_EQ(f->findTensor("empty")->bytes(), 0u);
    EXPECT_EQ(f->findTensor("__metadata__"), nullptr);
    EXPECT_EQ(f->findTensor("zzz"), nullptr);
}

namespace {

struct StCase {
    std::string name;
    std::function<std::vector<std::uint8_t>()> make;
    ErrorKind kind;
    std::string reason;
};

std::vector<std::uint8_t> header(const std::string& json, std::size_t dataBytes = 16) {
    return test::safetensorsFromParts(json, std::vector<std::uint8_t>(dataBytes, 0));
}

std::vector<StCase> stCatalogue() {
    const auto F = ErrorKind::Format, U = ErrorKind::Unsupported;
    std::vector<StCase> c;
    c.push_back({"too_short", [] { return std::vector<std::uint8_t>{1, 2, 3}; }, F, "too short for a safetensors header"});
    c.push_back({"header_length_too_large", [] { return test::safetensorsFromParts("{}", {}, 1ull << 40); }, F,
                 "safetensors header length 1099511627776 exceeds the limit"});
    c.push_back({"header_length_past_eof", [] { return test::safetensorsFromParts("{}", {}, 1000); }, F,
                 "safetensors header length 1000 runs past the end of the file"});
    c.push_back({"header_length_tiny", [] { return test::safetensorsFromParts("{", {}); }, F, "cannot hold a JSON object"});
    c.push_back({"malformed_json", [] { return header("{\"a\": {\"dtype\": \"F32\", "); }, F, "malformed JSON"});
    c.push_back({"json_trailing_garbage", [] { return header("{} xyz"); }, F, "malformed JSON"});
    c.push_back({"header_not_object", [] { return header("[1, 2, 3]"); }, F, "safetensors header is not a JSON object"});
    c.push_back({"entry_not_object", [] { return header("{\"a\": 5}"); }, F, "tensor 'a': header entry is not an object"});
    c.push_back({"missing_dtype", [] { return header(R"({"a": {"shape": [4], "data_offsets": [0, 16]}})"); }, F,
                 "tensor 'a': missing or non-string \"dtype\""});
    c.push_back({"missing_shape", [] { return header(R"({"a": {"dtype": "F32", "data_offsets": [0, 16]}})"); }, F,
                 "tensor 'a': missing or non-array \"shape\""});
    c.push_back({"missing_offsets", [] { return header(R"({"a": {"dtype": "F32", "shape": [4]}})"); }, F,
                 "tensor 'a': \"data_offsets\" must be [begin, end]"});
    c.push_back({"negative_shape", [] { return header(R"({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})"); }, F,
                 "shape entries must be non-negative integers"});
    c.push_back({"fractional_shape", [] { return header(R"({"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 10]}})"); },
                 F, "shape entries must be non-negative integers"});
    c.push_back({"too_many_dims", [] {
                     return header(R"({"a": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,4], "data_offsets": [0, 16]}})");
                 },
                 F, "more than 8 dimensions"});
    c.push_back({"shape_overflow", [] {
                     return header(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 16]}})");
                 },
                 F, "element count overflows"});
    c.push_back({"offsets_not_integers", [] { return header(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": ["0", 16]}})"); },
                 F, "\"data_offsets\" must be non-negative integers"});
    c.push_back({"offsets_reversed", [] { return header(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}})"); }, F,
                 "data_offsets end 0 is before begin 16"});
    c.push_back({"offsets_out_of_bounds", [] { return header(R"({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}})"); },
                 F, "tensor 'a': data_offsets [0, 32) run past the end of the data section (16 bytes"});
    c.push_back({"offsets_overlap", [] {
                     return header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})");
                 },
                 F, "data_offsets overlap tensor 'a'"});
    c.push_back({"size_mismatch", [] { return header(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})"); }, F,
                 "tensor 'a': size mismatch: shape × F32 needs 12 bytes but data_offsets cover 16"});
    c.push_back({"dtype_unsupported", [] { return header(R"({"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})"); }, U,
                 "tensor 'a' has dtype I64, which is not supported (F32, F16, BF16)"});
    c.push_back({"dtype_unknown", [] { return header(R"({"a": {"dtype": "F12", "shape": [2], "data_offsets": [0, 3]}})"); }, F,
                 "tensor 'a': unknown dtype \"F12\""});
    c.push_back({"duplicate_name", [] {
                     return header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                       "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})");
                 },
                 F, "tensor 'a': duplicate tensor name"});
    c.push_back({"truncated_data", [] {
                     test::SafetensorsWriter w;
                     w.add("a", {64}, DType::F32, ramp(64));
                     auto b = w.bytes();
                     b.resize(b.size() - 4);
                     return b;
                 },
                 F, "run past the end of the data section"});
    return c;
}

}  // namespace

TEST(Safetensors, CorruptCatalogue) {
    test::TempDir dir("safetensors");
    for (const auto& c : stCatalogue()) {
        SCOPED_TRACE(c.name);
        const std::string path = dir.file(c.name + ".safetensors");
        test::writeBytes(path, c.make());
        auto f = SafetensorsFile::open(path);
        ASSERT_FALSE(f.ok()) << c.name << " parsed without error";
        const std::string text = f.error().describe();
        EXPECT_EQ(f.error().kind, c.kind) << text;
        EXPECT_EQ(f.error().file, path);
        EXPECT_NE(text.find(path), std::string::npos) << text;
        EXPECT_TRUE(f.error().offset.has_value()) << text;
        EXPECT_NE(text.find(c.reason), std::string::npos) << c.name << ": " << text;
    }
    // Malformed JSON offsets point into the header (past the 8-byte length).
    auto f = SafetensorsFile::open(dir.file("malformed_json.safetensors"));
    ASSERT_FALSE(f.ok());
    EXPECT_GE(*f.error().offset, 8u);
}

// ---------------------------------------------------------------------------------------------
// Hugging Face folders

TEST(HfLoader, LlamaFolder) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.build();
    t.folder.tokenizerModel = {};
    auto r = loadModel(t.write(dir.file("tiny-llama")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const LoadedModel& m = **r;
    const ModelConfig& c = m.config;
    EXPECT_EQ(m.format, "safetensors");
    EXPECT_EQ(c.arch, Architecture::Llama);
    EXPECT_EQ(c.name, "tiny-llama");
    EXPECT_EQ(c.dim, 16);
    EXPECT_EQ(c.nKvHeads, 2);
    EXPECT_EQ(c.headDim, 4);
    EXPECT_EQ(c.ropeDim, 4);
    EXPECT_EQ(c.vocabSize, 12);
    EXPECT_EQ(c.contextLength, 256);
    EXPECT_FLOAT_EQ(c.normEps, 1e-6f);
    EXPECT_EQ(c.ropeLayout, RopeLayout::RotateHalf);
    EXPECT_FALSE(c.tiedOutput);
    EXPECT_NE(m.weights.output.data, m.weights.tokenEmbedding.data);
    EXPECT_EQ(m.weights.layers[1].wDown.rows, 16);
    EXPECT_EQ(m.weights.layers[1].wDown.cols, 24);
    EXPECT_EQ(m.weights.layers[1].ffnNorm.name, "model.layers.1.post_attention_layernorm.weight");
    EXPECT_EQ(test::tensorToFloats(m.weights.layers[0].wq), ramp(256));
    EXPECT_EQ(m.tokenizer.kind, TokenizerSpec::Kind::None);
    EXPECT_EQ(m.tokenizer.bosId, 1);
    EXPECT_EQ(m.tokenizer.eosId, 2);  // first of a list
    EXPECT_EQ(meta(m, "format"), "safetensors (model.safetensors)");
    EXPECT_EQ(meta(m, "tokenizer"), "none (no tokenizer.model in the folder)");
    EXPECT_EQ(meta(m, "config.model_type"), "llama");
}

TEST(HfLoader, TiedMistralWithTokenizerJsonOnly) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.modelType = "mistral";
    t.tied = true;
    t.build();
    const std::string folder = t.write(dir.file("mistral"));
    test::writeBytes((fs::path(folder) / "tokenizer.json").string(), {'{', '}'});
    auto r = loadModel(folder);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ((*r)->config.arch, Architecture::Llama);
    EXPECT_TRUE((*r)->config.tiedOutput);
    EXPECT_EQ((*r)->weights.output.data, (*r)->weights.tokenEmbedding.data);
    EXPECT_EQ((*r)->tokenizer.kind, TokenizerSpec::Kind::None);
    EXPECT_NE(meta(**r, "tokenizer").find("tokenizer.json only"), std::string::npos);
}

// An untied model (tie_word_embeddings false, or absent: the llama default) without
// lm_head.weight is an error naming the file and the tensor, never silently tied.
TEST(HfLoader, UntiedModelWithoutLmHeadIsAnError) {
    test::TempDir dir("safetensors");
    for (const bool keyAbsent : {false, true}) {
        SCOPED_TRACE(keyAbsent ? "tie_word_embeddings absent" : "tie_word_embeddings false");
        TinyHf t;
        t.build();
        t.remove("lm_head.weight");
        if (keyAbsent)
            std::erase_if(t.folder.config.asObject(), [](const auto& kv) { return kv.first == "tie_word_embeddings"; });
        const std::string folder = t.write(dir.file(keyAbsent ? "nohead-default" : "nohead-untied"));
        auto r = loadModel(folder);
        ASSERT_FALSE(r.ok()) << "loaded an untied model without its output projection";
        EXPECT_EQ(r.error().kind, ErrorKind::Format);
        const std::string text = r.error().describe();
        EXPECT_NE(text.find(folder), std::string::npos) << text;
        EXPECT_NE(text.find("missing tensor 'lm_head.weight'"), std::string::npos) << text;
        EXPECT_NE(text.find("tie_word_embeddings"), std::string::npos) << text;
    }
    // Tied, the embedding is the output projection.
    TinyHf tied;
    tied.tied = true;
    tied.build();
    auto r = loadModel(tied.write(dir.file("tied")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE((*r)->config.tiedOutput);
    EXPECT_EQ((*r)->weights.output.data, (*r)->weights.tokenEmbedding.data);
}

TEST(HfLoader, TokenizerModelAndConfig) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.build();
    const std::string tokSrc = dir.file("src.model");
    test::writeBytes(tokSrc, {'x'});
    t.folder.tokenizerModel = tokSrc;
    const std::string folder = t.write(dir.file("withtok"));
    ASSERT_TRUE(writeFileAtomic((fs::path(folder) / "tokenizer_config.json").string(), R"({"add_bos_token": false})").ok());
    auto r = loadModel(folder);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ((*r)->tokenizer.kind, TokenizerSpec::Kind::SentencePieceFile);
    EXPECT_EQ((*r)->tokenizer.modelFile, (fs::path(folder) / "tokenizer.model").string());
    EXPECT_FALSE((*r)->tokenizer.addBos);
}

TEST(HfLoader, Qwen2Folder) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.modelType = "qwen2";
    t.build();
    auto r = loadModel(t.write(dir.file("qwen2")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ((*r)->config.arch, Architecture::Qwen2);
    EXPECT_TRUE((*r)->config.qkvBias);
    EXPECT_TRUE((*r)->weights.layers[1].bq.present());
    EXPECT_EQ((*r)->weights.layers[1].bv.cols, 8);

    t.remove("model.layers.0.self_attn.k_proj.bias");
    auto e = loadModel(t.write(dir.file("qwen2-nobias")));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().describe().find("missing required tensor 'model.layers.0.self_attn.k_proj.bias'"), std::string::npos);
}

TEST(HfLoader, Gemma3TextFolder) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.modelType = "gemma3_text";
    t.layers = 6;
    t.tied = true;
    t.build();
    auto r = loadModel(t.write(dir.file("gemma3")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const ModelConfig& c = (*r)->config;
    EXPECT_EQ(c.arch, Architecture::Gemma3);
    EXPECT_TRUE(c.normAddOne);  // HF weights store w, the norm scales by 1 + w
    EXPECT_TRUE(c.qkNorm && c.postAttnNorm && c.postFfnNorm && c.gegluTanh);
    EXPECT_FLOAT_EQ(c.embedScale, 4.0f);
    EXPECT_FLOAT_EQ(c.queryScale, 0.25f);
    EXPECT_EQ(c.slidingWindow, 8);
    EXPECT_EQ(c.ropeTheta, 1000000.0f);
    EXPECT_EQ(c.ropeThetaLocal, 10000.0f);
    EXPECT_EQ(c.layerIsLocal, (std::vector<bool>{true, true, true, true, true, false}));
    EXPECT_TRUE(c.tiedOutput);
    const LayerWeights& L = (*r)->weights.layers[2];
    EXPECT_EQ(L.ffnNorm.name, "model.layers.2.pre_feedforward_layernorm.weight");
    EXPECT_EQ(L.postAttnNorm.name, "model.layers.2.post_attention_layernorm.weight");
    EXPECT_EQ(L.postFfnNorm.name, "model.layers.2.post_feedforward_layernorm.weight");
    EXPECT_EQ(L.qNorm.cols, 4);

    // layer_types overrides the default pattern.
    TinyHf u = t;
    Json lt = Json::array();
    for (int i = 0; i < 6; ++i) lt.push(i % 2 ? "full_attention" : "sliding_attention");
    u.folder.config["layer_types"] = std::move(lt);
    auto r2 = loadModel(u.write(dir.file("gemma3-types")));
    ASSERT_TRUE(r2.ok()) << r2.error().describe();
    EXPECT_EQ((*r2)->config.layerIsLocal, (std::vector<bool>{true, false, true, false, true, false}));
}

TEST(HfLoader, Gemma3MultimodalFolder) {
    test::TempDir dir("safetensors");
    TinyHf t;
    t.modelType = "gemma3";
    t.prefix = "language_model.model.";
    t.tied = true;
    t.build();
    t.folder.tensors.push_back(test::HfTensor{"vision_tower.vision_model.embeddings.patch_embedding.weight", {4, 4}, ramp(16)});
    t.folder.shards = 2;
    auto r = loadModel(t.write(dir.file("gemma3-mm")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ((*r)->config.arch, Architecture::Gemma3);
    EXPECT_EQ((*r)->config.dim, 16);
    EXPECT_EQ((*r)->weights.tokenEmbedding.name, "language_model.model.embed_tokens.weight");
    EXPECT_EQ(meta(**r, "format"), "safetensors (2 shards)");
}

TEST(HfLoader, RopeScalingFromConfig) {
    Json cfg = Json::object();
    cfg["model_type"] = "llama";
    cfg["hidden_size"] = 64;
    cfg["intermediate_size"] = 128;
    cfg["num_hidden_layers"] = 2;
    cfg["num_attention_heads"] = 4;
    Json rs = Json::object();
    rs["rope_type"] = "llama3";
    rs["factor"] = 32.0;
    rs["low_freq_factor"] = 1.0;
    rs["high_freq_factor"] = 4.0;
    rs["original_max_position_embeddings"] = 8192;
    cfg["rope_scaling"] = rs;
    cfg["head_dim"] = nullptr;
    auto c = hfConfigFromJson(cfg, "config.json");
    ASSERT_TRUE(c.ok()) << c.error().describe();
    EXPECT_EQ(c->ropeScaling.kind, RopeScaling::Kind::Llama3);
    EXPECT_EQ(c->ropeScaling.factor, 32.0f);
    EXPECT_EQ(c->ropeScaling.originalContextLength, 8192);
    EXPECT_EQ(c->headDim, 16);
    EXPECT_EQ(c->nKvHeads, 4);
    EXPECT_EQ(c->ropeTheta, 10000.0f);

    Json lin = Json::object();
    lin["type"] = "linear";
    lin["factor"] = 2.0;
    cfg["rope_scaling"] = lin;
    c = hfConfigFromJson(cfg, "config.json");
    ASSERT_TRUE(c.ok()) << c.error().describe();
    EXPECT_EQ(c->ropeScaling.kind, RopeScaling::Kind::Linear);
    EXPECT_EQ(c->ropeScaling.factor, 2.0f);

    Json yarn = Json::object();
    yarn["rope_type"] = "yarn";
    yarn["factor"] = 4.0;
    cfg["rope_scaling"] = yarn;
    c = hfConfigFromJson(cfg, "config.json");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(c.error().describe().find("rope_scaling type \"yarn\" is not supported"), std::string::npos);
}

namespace {

struct HfCase {
    std::string name;
    std::function<void(TinyHf&, const std::string& folder)> edit;  // after writing the folder
    ErrorKind kind;
    std::string fileSuffix;  // the error's file ends with this
    std::string reason;
};

void writeText(const std::string& path, const std::string& text) {
    test::writeBytes(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

std::vector<HfCase> hfCatalogue() {
    const auto F = ErrorKind::Format, U = ErrorKind::Unsupported;
    std::vector<HfCase> c;
    c.push_back({"missing_config", [](TinyHf&, const std::string& d) { fs::remove(fs::path(d) / "config.json"); }, F,
                 "config.json", "missing config.json"});
    c.push_back({"malformed_config", [](TinyHf&, const std::string& d) { writeText(d + "/config.json", "{\"model_type\": "); },
                 F, "config.json", "malformed JSON"});
    c.push_back({"config_not_object", [](TinyHf&, const std::string& d) { writeText(d + "/config.json", "[]"); }, F,
                 "config.json", "config.json is not a JSON object"});
    c.push_back({"config_no_model_type", [](TinyHf&, const std::string& d) { writeText(d + "/config.json", "{}"); }, F,
                 "config.json", "config.json has no \"model_type\""});
    c.push_back({"unsupported_model_type", [](TinyHf&, const std::string& d) {
                     writeText(d + "/config.json", R"({"model_type": "bert"})");
                 },
                 U, "config.json", "model_type \"bert\" is not supported"});
    c.push_back({"config_missing_hidden_size", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     auto& o = cfg.asObject();
                     std::erase_if(o, [](const auto& kv) { return kv.first == "hidden_size"; });
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "missing required key \"hidden_size\""});
    c.push_back({"config_wrong_type", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["num_hidden_layers"] = "two";
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "\"num_hidden_layers\" must be a number"});
    c.push_back({"config_fractional_layers", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["num_hidden_layers"] = 2.5;
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "\"num_hidden_layers\" must be an integer"});
    c.push_back({"heads_not_dividing", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["num_attention_heads"] = 3;
                     cfg["head_dim"] = nullptr;
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "num_attention_heads 3 does not divide hidden_size 16"});
    c.push_back({"kv_heads_not_dividing", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["num_key_value_heads"] = 3;
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "KV head count 3 must divide head count 4"});
    c.push_back({"unsupported_activation", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["hidden_act"] = "relu";
                     writeText(d + "/config.json", cfg.dump());
                 },
                 U, "config.json", "hidden_act \"relu\" is not supported"});
    c.push_back({"vocab_size_mismatch", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["vocab_size"] = 99;
                     writeText(d + "/config.json", cfg.dump());
                 },
                 F, "config.json", "vocab_size 99 in config.json but model.embed_tokens.weight has 12 rows"});
    c.push_back({"no_weights", [](TinyHf&, const std::string& d) { fs::remove(fs::path(d) / "model.safetensors"); }, F,
                 "", "no model.safetensors or model.safetensors.index.json"});
    c.push_back({"missing_shard", [](TinyHf& t, const std::string& d) {
                     fs::remove(fs::path(d) / "model.safetensors");
                     t.folder.shards = 2;
                     t.write(d);
                     fs::remove(fs::path(d) / "model-00002-of-00002.safetensors");
                 },
                 ErrorKind::Io, "model.safetensors.index.json",
                 "shard 'model-00002-of-00002.safetensors' listed in the index"});
    c.push_back({"index_lists_absent_tensor", [](TinyHf& t, const std::string& d) {
                     fs::remove(fs::path(d) / "model.safetensors");
                     t.folder.shards = 2;
                     t.write(d);
                     auto idx = Json::parseFile(d + "/model.safetensors.index.json");
                     Json j = *idx;
                     j["weight_map"]["model.ghost.weight"] = "model-00001-of-00002.safetensors";
                     writeText(d + "/model.safetensors.index.json", j.dump());
                 },
                 F, "model-00001-of-00002.safetensors", "tensor 'model.ghost.weight' is listed in the index for this shard"});
    c.push_back({"index_malformed", [](TinyHf&, const std::string& d) {
                     writeText(d + "/model.safetensors.index.json", "{\"weight_map\": 3}");
                 },
                 F, "model.safetensors.index.json", "index has no \"weight_map\" object"});
    c.push_back({"index_path_escape", [](TinyHf&, const std::string& d) {
                     writeText(d + "/model.safetensors.index.json", R"({"weight_map": {"a": "../x.safetensors"}})");
                 },
                 F, "model.safetensors.index.json", "must be a file name in the folder"});
    c.push_back({"corrupt_safetensors", [](TinyHf&, const std::string& d) {
                     test::writeBytes(d + "/model.safetensors", test::safetensorsFromParts("{nope", {}));
                 },
                 F, "model.safetensors", "malformed JSON"});
    c.push_back({"missing_tensor", [](TinyHf& t, const std::string& d) {
                     t.remove("model.layers.1.mlp.up_proj.weight");
                     t.write(d);
                 },
                 F, "model.safetensors", "missing required tensor 'model.layers.1.mlp.up_proj.weight'"});
    c.push_back({"missing_tensor_sharded", [](TinyHf& t, const std::string& d) {
                     fs::remove(fs::path(d) / "model.safetensors");
                     t.remove("model.layers.0.self_attn.v_proj.weight");
                     t.folder.shards = 3;
                     t.write(d);
                 },
                 F, "model.safetensors.index.json", "missing required tensor 'model.layers.0.self_attn.v_proj.weight'"});
    c.push_back({"qwen2_sliding_window", [](TinyHf& t, const std::string& d) {
                     Json cfg = t.folder.config;
                     cfg["model_type"] = "qwen2";
                     cfg["use_sliding_window"] = true;
                     writeText(d + "/config.json", cfg.dump());
                 },
                 U, "config.json", "\"use_sliding_window\": true is not supported"});
    c.push_back({"missing_embedding", [](TinyHf& t, const std::string& d) {
                     t.remove("model.embed_tokens.weight");
                     t.write(d);
                 },
                 F, "model.safetensors", "missing required tensor 'model.embed_tokens.weight'"});
    c.push_back({"shape_mismatch", [](TinyHf& t, const std::string& d) {
                     t.reshape("model.layers.0.self_attn.k_proj.weight", {16, 16});
                     t.write(d);
                 },
                 F, "model.safetensors", "tensor 'model.layers.0.self_attn.k_proj.weight' has shape [16, 16], expected [8, 16]"});
    c.push_back({"transposed_down", [](TinyHf& t, const std::string& d) {
                     t.reshape("model.layers.1.mlp.down_proj.weight", {24, 16});
                     t.write(d);
                 },
                 F, "model.safetensors", "tensor 'model.layers.1.mlp.down_proj.weight' has shape [24, 16], expected [16, 24]"});
    c.push_back({"unused_layer_tensor", [](TinyHf& t, const std::string& d) {
                     t.folder.tensors.push_back(test::HfTensor{"model.layers.0.self_attn.o_proj.bias", {16}, ramp(16)});
                     t.write(d);
                 },
                 U, "model.safetensors", "tensor 'model.layers.0.self_attn.o_proj.bias' is not used by the llama architecture"});
    c.push_back({"unsupported_dtype_in_folder", [](TinyHf&, const std::string& d) {
                     test::SafetensorsWriter w;
                     w.addRaw("model.embed_tokens.weight", "I32", {12, 16}, std::vector<std::uint8_t>(12 * 16 * 4));
                     ASSERT_TRUE(w.write(d + "/model.safetensors").ok());
                 },
                 U, "model.safetensors", "has dtype I32"});
    c.push_back({"malformed_tokenizer_config", [](TinyHf&, const std::string& d) {
                     writeText(d + "/tokenizer_config.json", "{");
                 },
                 F, "tokenizer_config.json", "malformed JSON"});
    return c;
}

}  // namespace

TEST(HfLoader, BrokenFolderCatalogue) {
    test::TempDir dir("safetensors");
    for (const auto& c : hfCatalogue()) {
        SCOPED_TRACE(c.name);
        TinyHf t;
        t.build();
        const std::string folder = t.write(dir.file(c.name));
        c.edit(t, folder);
        auto r = loadModel(folder);
        ASSERT_FALSE(r.ok()) << c.name << " loaded without error";
        const std::string text = r.error().describe();
        EXPECT_EQ(r.error().kind, c.kind) << text;
        EXPECT_FALSE(r.error().file.empty()) << text;
        EXPECT_NE(text.find(r.error().file), std::string::npos);
        EXPECT_EQ(r.error().file.rfind(folder, 0), 0u) << "error file " << r.error().file << " is outside " << folder;
        if (!c.fileSuffix.empty()) {
            const std::string& f = r.error().file;
            EXPECT_TRUE(f.size() >= c.fileSuffix.size() &&
                        f.compare(f.size() - c.fileSuffix.size(), c.fileSuffix.size(), c.fileSuffix) == 0)
                << f;
        }
        EXPECT_NE(text.find(c.reason), std::string::npos) << c.name << ": " << text;
    }
}
