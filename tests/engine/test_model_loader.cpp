// Model loading: stories260K from GGUF (config, tokenizer, weights byte-identical to the llama2.c
// checkpoint), synthetic llama/qwen2/gemma3 GGUFs, random-weight GGUFs, the GGUF → Hugging Face
// folder round trip, format sniffing, and a catalogue of semantically broken models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/model_writers.h"
#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"
#include "model/model_loader.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

std::string modelFile(const std::string& name) {
    std::string dir = test::testModelsDir();
    if (dir.empty()) return {};
    fs::path p = fs::path(dir) / name;
    return fs::exists(p) ? p.string() : std::string{};
}

#define REQUIRE_MODEL(var, name)                                  \
    const std::string var = modelFile(name);                      \
    if (var.empty()) GTEST_SKIP() << name << " not found"

std::string meta(const LoadedModel& m, const std::string& key) {
    for (const auto& [k, v] : m.metadata)
        if (k == key) return v;
    return "<absent>";
}

// ---------------------------------------------------------------------------------------------
// A tiny synthetic GGUF model with edits, for the semantic catalogue.
struct TinyGguf {
    std::string arch = "llama";
    int dim = 16, layers = 2, heads = 4, kvHeads = 2, ffn = 24, vocab = 12;
    bool tied = false;
    bool tokenizer = true;
    std::map<std::string, std::optional<GgufValue>> keyEdits;               // nullopt removes the key
    std::map<std::string, std::optional<std::vector<std::uint64_t>>> shapeEdits;  // nullopt removes the tensor
    std::vector<std::pair<std::string, std::vector<float>>> extra;          // extra 1-D F32 tensors

    static float value(const std::string& tensor, std::uint64_t i) {
        return std::sin(0.37f * static_cast<float>(i) + static_cast<float>(tensor.size()));
    }

    std::vector<std::pair<std::string, std::vector<std::uint64_t>>> tensors() const {
        const std::uint64_t d = static_cast<std::uint64_t>(dim), hd = d / static_cast<std::uint64_t>(heads),
                            kvd = hd * static_cast<std::uint64_t>(kvHeads), f = static_cast<std::uint64_t>(ffn),
                            v = static_cast<std::uint64_t>(vocab);
        std::vector<std::pair<std::string, std::vector<std::uint64_t>>> t;
        t.push_back({"token_embd.weight", {d, v}});
        t.push_back({"output_norm.weight", {d}});
        if (!tied) t.push_back({"output.weight", {d, v}});
        for (int i = 0; i < layers; ++i) {
            const std::string p = "blk." + std::to_string(i) + ".";
            t.push_back({p + "attn_norm.weight", {d}});
            t.push_back({p + "attn_q.weight", {d, d}});
            t.push_back({p + "attn_k.weight", {d, kvd}});
            t.push_back({p + "attn_v.weight", {d, kvd}});
            t.push_back({p + "attn_output.weight", {d, d}});
            t.push_back({p + "ffn_norm.weight", {d}});
            t.push_back({p + "ffn_gate.weight", {d, f}});
            t.push_back({p + "ffn_up.weight", {d, f}});
            t.push_back({p + "ffn_down.weight", {f, d}});
            if (arch == "qwen2") {
                t.push_back({p + "attn_q.bias", {d}});
                t.push_back({p + "attn_k.bias", {kvd}});
                t.push_back({p + "attn_v.bias", {kvd}});
            }
            if (arch == "gemma3") {
                t.push_back({p + "attn_q_norm.weight", {hd}});
                t.push_back({p + "attn_k_norm.weight", {hd}});
                t.push_back({p + "post_attention_norm.weight", {d}});
                t.push_back({p + "post_ffw_norm.weight", {d}});
            }
        }
        return t;
    }

    std::string write(const std::string& path) const {
        const std::string a = arch;
        std::vector<std::pair<std::string, GgufValue>> kv = {
            {"general.architecture", test::ggufString(a)},
            {"general.name", test::ggufString("tiny")},
            {a + ".context_length", test::ggufU32(128)},
            {a + ".embedding_length", test::ggufU32(static_cast<std::uint32_t>(dim))},
            {a + ".feed_forward_length", test::ggufU32(static_cast<std::uint32_t>(ffn))},
            {a + ".block_count", test::ggufU32(static_cast<std::uint32_t>(layers))},
            {a + ".attention.head_count", test::ggufU32(static_cast<std::uint32_t>(heads))},
            {a + ".attention.head_count_kv", test::ggufU32(static_cast<std::uint32_t>(kvHeads))},
            {a + ".attention.layer_norm_rms_epsilon", test::ggufF32(1e-5f)},
        };
        if (tokenizer) {
            std::vector<std::string> toks;
            std::vector<float> scores;
            std::vector<std::int32_t> types;
            for (int i = 0; i < vocab; ++i) {
                toks.push_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "tok" + std::to_string(i));
                scores.push_back(-static_cast<float>(i));
                types.push_back(i < 3 ? 3 : 1);
            }
            kv.push_back({"tokenizer.ggml.model", test::ggufString("llama")});
            kv.push_back({"tokenizer.ggml.tokens", test::ggufStringArray(toks)});
            kv.push_back({"tokenizer.ggml.scores", test::ggufF32Array(scores)});
            kv.push_back({"tokenizer.ggml.token_type", test::ggufI32Array(types)});
            kv.push_back({"tokenizer.ggml.bos_token_id", test::ggufU32(1)});
            kv.push_back({"tokenizer.ggml.eos_token_id", test::ggufU32(2)});
            kv.push_back({"tokenizer.ggml.unknown_token_id", test::ggufU32(0)});
            kv.push_back({"tokenizer.ggml.padding_token_id", test::ggufU32(0xFFFFFFFFu)});
        }
        for (const auto& [key, edit] : keyEdits) {
            auto it = std::find_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == key; });
            if (!edit) {
                if (it != kv.end()) kv.erase(it);
            } else if (it != kv.end()) {
                it->second = *edit;
            } else {
                kv.emplace_back(key, *edit);
            }
        }
        test::GgufWriter w;
        for (auto& [k, v] : kv) w.add(k, v);
        for (auto [name, ne] : tensors()) {
            if (auto e = shapeEdits.find(name); e != shapeEdits.end()) {
                if (!e->second) continue;
                ne = *e->second;
            }
            std::uint64_t n = 1;
            for (auto x : ne) n *= x;
            std::vector<float> vals(static_cast<std::size_t>(n));
            for (std::uint64_t i = 0; i < n; ++i) vals[i] = value(name, i);
            w.addTensor(name, ne, DType::F32, vals);
        }
        for (const auto& [name, vals] : extra) w.addTensor(name, {vals.size()}, DType::F32, vals);
        auto r = w.write(path);
        EXPECT_TRUE(r.ok());
        return path;
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// stories260K

TEST(ModelLoader, Stories260KConfig) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    auto r = loadModel(path);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const LoadedModel& m = **r;
    const ModelConfig& c = m.config;
    EXPECT_EQ(m.format, "gguf");
    EXPECT_EQ(m.path, path);
    EXPECT_EQ(c.arch, Architecture::Llama);
    EXPECT_EQ(c.name, "llama");
    EXPECT_EQ(c.dim, 64);
    EXPECT_EQ(c.nLayers, 5);
    EXPECT_EQ(c.nHeads, 8);
    EXPECT_EQ(c.nKvHeads, 4);
    EXPECT_EQ(c.headDim, 8);
    EXPECT_EQ(c.ffnDim, 172);
    EXPECT_EQ(c.vocabSize, 512);
    EXPECT_EQ(c.contextLength, 2048);
    EXPECT_EQ(c.ropeDim, 8);
    EXPECT_FLOAT_EQ(c.ropeTheta, 10000.0f);
    EXPECT_FLOAT_EQ(c.normEps, 1e-5f);
    EXPECT_EQ(c.ropeLayout, RopeLayout::AdjacentPairs);
    EXPECT_EQ(c.ropeScaling.kind, RopeScaling::Kind::None);
    EXPECT_FALSE(c.tiedOutput);  // output.weight is stored (with the embedding's bytes)
    EXPECT_FALSE(c.qkvBias || c.normAddOne || c.qkNorm || c.gegluTanh);
    EXPECT_TRUE(c.layerIsLocal.empty());
    EXPECT_TRUE(c.validate(path).ok());

    EXPECT_EQ(m.tensorTypeCounts.size(), 1u);
    EXPECT_EQ(m.tensorTypeCounts.at("F32"), 48);
    EXPECT_EQ(m.parameterCount, 292800u);
    EXPECT_EQ(m.weightBytes, 292800u * 4u);
    EXPECT_EQ(meta(m, "format"), "GGUF v3");
    EXPECT_EQ(meta(m, "general.name"), "llama");
    EXPECT_EQ(meta(m, "architecture"), "llama");
    EXPECT_EQ(meta(m, "tokenizer model"), "llama");
    EXPECT_EQ(meta(m, "vocab size"), "512");
    EXPECT_EQ(meta(m, "rope base"), "10000");
    EXPECT_EQ(meta(m, "context length"), "2048");

    const TokenizerSpec& t = m.tokenizer;
    EXPECT_EQ(t.kind, TokenizerSpec::Kind::SentencePieceEmbedded);
    ASSERT_EQ(t.tokens.size(), 512u);
    EXPECT_EQ(t.scores.size(), 512u);
    EXPECT_EQ(t.tokenTypes.size(), 512u);
    EXPECT_EQ(t.tokens[0], "<unk>");
    EXPECT_EQ(t.tokens[3], "<0x00>");
    EXPECT_EQ(t.tokens[403], "▁Once");
    EXPECT_EQ(t.tokenTypes[1], 3);
    EXPECT_EQ(t.tokenTypes[3], 6);
    EXPECT_EQ(t.bosId, 1);
    EXPECT_EQ(t.eosId, 2);
    EXPECT_EQ(t.unkId, 0);
    EXPECT_EQ(t.padId, -1);  // 0xFFFFFFFF means none
    EXPECT_TRUE(t.addSpacePrefix);
}

TEST(ModelLoader, Stories260KWeightsMatchLlama2cCheckpoint) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    REQUIRE_MODEL(bin, "stories260K.bin");
    auto r = loadModel(path);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const LoadedModel& m = **r;
    const ModelWeights& w = m.weights;
    auto raw = test::readBytes(bin);
    ASSERT_EQ(raw.size(), 1056540u);
    const int L = 5, d = 64, kv = 32, f = 172, v = 512;
    std::uint64_t off = 28;
    auto take = [&](std::uint64_t floats) {
        const std::uint8_t* p = raw.data() + off;
        off += floats * 4;
        return p;
    };
    auto same = [](const TensorView& t, const std::uint8_t* p, std::int64_t rows, std::int64_t cols) {
        EXPECT_EQ(t.dtype, DType::F32) << t.name;
        EXPECT_EQ(t.rows, rows) << t.name;
        EXPECT_EQ(t.cols, cols) << t.name;
        ASSERT_EQ(t.bytes, static_cast<std::uint64_t>(rows * cols * 4)) << t.name;
        EXPECT_EQ(std::memcmp(t.data, p, t.bytes), 0) << t.name;
    };
    same(w.tokenEmbedding, take(v * d), v, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].attnNorm, take(d), 1, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].wq, take(d * d), d, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].wk, take(kv * d), kv, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].wv, take(kv * d), kv, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].wo, take(d * d), d, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].ffnNorm, take(d), 1, d);
    for (int l = 0; l < L; ++l) same(w.layers[l].wGate, take(f * d), f, d);  // w1
    for (int l = 0; l < L; ++l) same(w.layers[l].wDown, take(d * f), d, f);  // w2
    for (int l = 0; l < L; ++l) same(w.layers[l].wUp, take(f * d), f, d);    // w3
    same(w.outputNorm, take(d), 1, d);
    // The stored classifier has the embedding's bytes (llama2.c shares them).
    same(w.output, raw.data() + 28, v, d);
    EXPECT_NE(w.output.data, w.tokenEmbedding.data);
    // Row access: row 403 ("▁Once") of the embedding.
    float x;
    std::memcpy(&x, raw.data() + 28 + (403 * 64 + 5) * 4, 4);
    float y;
    std::memcpy(&y, w.tokenEmbedding.row(403) + 5 * 4, 4);
    EXPECT_EQ(x, y);
    EXPECT_FALSE(w.layers[0].bq.present());
    EXPECT_FALSE(w.layers[0].qNorm.present());
}

TEST(ModelLoader, FindsModelsDirAndResolvesNames) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    std::string dir = findModelsDir();
    ASSERT_FALSE(dir.empty());
    EXPECT_TRUE(fs::exists(fs::path(dir) / "stories260K.gguf"));
    EXPECT_TRUE(fs::equivalent(resolveModelPath("stories260K.gguf"), path));
    EXPECT_EQ(resolveModelPath(path), path);
    EXPECT_EQ(resolveModelPath("no-such-model.gguf"), "no-such-model.gguf");
    EXPECT_EQ(resolveModelPath("some/dir/x.gguf"), "some/dir/x.gguf");
}

// ---------------------------------------------------------------------------------------------
// GGUF → Hugging Face folder round trip

TEST(ModelLoader, Stories260KRoundTripsThroughHfFolder) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    const std::string tok = modelFile("tok512.model");
    auto g = loadModel(path);
    ASSERT_TRUE(g.ok()) << g.error().describe();
    const LoadedModel& src = **g;

    struct Variant { DType dtype; int shards; };
    for (Variant var : {Variant{DType::F32, 1}, Variant{DType::BF16, 1}, Variant{DType::F16, 3}}) {
        SCOPED_TRACE(dtypeName(var.dtype));
        test::TempDir dir("hf");
        const std::string folder = dir.file("stories260K-hf");
        auto w = test::writeHfFolderFromModel(src, folder, var.dtype, tok, var.shards);
        ASSERT_TRUE(w.ok()) << w.error().describe();
        EXPECT_EQ(fs::exists(fs::path(folder) / "model.safetensors.index.json"), var.shards > 1);

        auto h = loadModel(folder);
        ASSERT_TRUE(h.ok()) << h.error().describe();
        const LoadedModel& dst = **h;
        const ModelConfig& a = src.config;
        const ModelConfig& b = dst.config;
        EXPECT_EQ(dst.format, "safetensors");
        EXPECT_EQ(b.arch, a.arch);
        EXPECT_EQ(b.dim, a.dim);
        EXPECT_EQ(b.nLayers, a.nLayers);
        EXPECT_EQ(b.nHeads, a.nHeads);
        EXPECT_EQ(b.nKvHeads, a.nKvHeads);
        EXPECT_EQ(b.headDim, a.headDim);
        EXPECT_EQ(b.ffnDim, a.ffnDim);
        EXPECT_EQ(b.vocabSize, a.vocabSize);
        EXPECT_EQ(b.contextLength, a.contextLength);
        EXPECT_EQ(b.ropeDim, a.ropeDim);
        EXPECT_EQ(b.ropeTheta, a.ropeTheta);
        EXPECT_EQ(b.normEps, a.normEps);
        EXPECT_EQ(b.tiedOutput, a.tiedOutput);
        EXPECT_EQ(b.ropeLayout, RopeLayout::RotateHalf);
        EXPECT_EQ(b.name, "stories260K-hf");
        EXPECT_EQ(dst.tensorTypeCounts.at(dtypeName(var.dtype)), 48);
        EXPECT_EQ(dst.parameterCount, 292800u);
        if (!tok.empty()) {
            EXPECT_EQ(dst.tokenizer.kind, TokenizerSpec::Kind::SentencePieceFile);
            EXPECT_TRUE(fs::exists(dst.tokenizer.modelFile));
        }
        EXPECT_EQ(dst.tokenizer.bosId, 1);
        EXPECT_EQ(dst.tokenizer.eosId, 2);

        // Stored values: exact for F32, the dtype's rounding otherwise.
        auto stored = [&](float x) {
            if (var.dtype == DType::BF16) return bf16ToF32(f32ToBf16(x));
            if (var.dtype == DType::F16) return f16ToF32(f32ToF16(x));
            return x;
        };
        auto e0 = test::tensorToFloats(src.weights.tokenEmbedding);
        auto e1 = test::tensorToFloats(dst.weights.tokenEmbedding);
        ASSERT_EQ(e0.size(), e1.size());
        for (std::size_t i = 0; i < e0.size(); ++i) ASSERT_EQ(e1[i], stored(e0[i])) << i;
        EXPECT_EQ(dst.weights.tokenEmbedding.dtype, var.dtype);

        // Q/K rows come back in rotate-half order: HF row h*hd + j*hd/2 + i = GGUF row h*hd + 2i + j.
        const int hd = a.headDim;
        for (int l : {0, 4}) {
            for (auto [t0, t1] : {std::pair{&src.weights.layers[l].wq, &dst.weights.layers[l].wq},
                                  std::pair{&src.weights.layers[l].wk, &dst.weights.layers[l].wk}}) {
                auto q0 = test::tensorToFloats(*t0);
                auto q1 = test::tensorToFloats(*t1);
                const std::int64_t cols = t0->cols;
                for (std::int64_t r = 0; r < t0->rows; ++r) {
                    const std::int64_t h = r / hd, within = r % hd;
                    const std::int64_t hfRow = h * hd + (within % 2) * (hd / 2) + within / 2;
                    EXPECT_EQ(test::hfRowFromGgufRow(r, hd), hfRow);
                    for (std::int64_t c = 0; c < cols; ++c)
                        ASSERT_EQ(q1[hfRow * cols + c], stored(q0[r * cols + c])) << t0->name << " row " << r;
                }
            }
            auto v0 = test::tensorToFloats(src.weights.layers[l].wv);
            auto v1 = test::tensorToFloats(dst.weights.layers[l].wv);
            for (std::size_t i = 0; i < v0.size(); ++i) ASSERT_EQ(v1[i], stored(v0[i]));
            auto d0 = test::tensorToFloats(src.weights.layers[l].wDown);
            auto d1 = test::tensorToFloats(dst.weights.layers[l].wDown);
            for (std::size_t i = 0; i < d0.size(); ++i) ASSERT_EQ(d1[i], stored(d0[i]));
        }
        // A .safetensors path opens its folder.
        const std::string shard = var.shards > 1 ? "model-00002-of-00003.safetensors" : "model.safetensors";
        auto viaFile = loadModel((fs::path(folder) / shard).string());
        ASSERT_TRUE(viaFile.ok()) << viaFile.error().describe();
        EXPECT_EQ((*viaFile)->config.dim, 64);
    }
}

// ---------------------------------------------------------------------------------------------
// Random-weight GGUFs

TEST(ModelLoader, RandomLlamaGgufLoads) {
    test::TempDir dir("loader");
    for (DType dt : {DType::F32, DType::F16, DType::Q8_0}) {
        SCOPED_TRACE(dtypeName(dt));
        test::RandomLlamaSpec s;
        s.dim = 64, s.layers = 2, s.heads = 4, s.kvHeads = 2, s.ffn = 96, s.vocab = 40;
        s.dtype = dt;
        s.seed = 7;
        s.ropeTheta = 500000.0f;
        const std::string path = dir.file(std::string("random-") + dtypeName(dt) + ".gguf");
        ASSERT_TRUE(test::writeRandomLlamaGguf(path, s).ok());
        auto r = loadModel(path);
        ASSERT_TRUE(r.ok()) << r.error().describe();
        const LoadedModel& m = **r;
        EXPECT_EQ(m.config.dim, 64);
        EXPECT_EQ(m.config.nKvHeads, 2);
        EXPECT_EQ(m.config.vocabSize, 40);
        EXPECT_EQ(m.config.ropeTheta, 500000.0f);
        EXPECT_EQ(m.config.name, "random-llama");
        EXPECT_EQ(m.tokenizer.kind, TokenizerSpec::Kind::None);
        EXPECT_EQ(m.weights.layers[1].wUp.dtype, dt);
        EXPECT_EQ(m.weights.layers[1].ffnNorm.dtype, DType::F32);
        auto up = test::tensorToFloats(m.weights.layers[1].wUp);
        const double tol = dt == DType::F32 ? 0 : dt == DType::F16 ? 1e-4 : 2e-3;
        double sum2 = 0;
        for (std::int64_t row = 0; row < 96; ++row)
            for (std::int64_t col = 0; col < 64; ++col) {
                float want = test::randomWeight(7, "blk.1.ffn_up.weight", static_cast<std::uint64_t>(row),
                                                static_cast<std::uint64_t>(col), 0.02f);
                float got = up[static_cast<std::size_t>(row * 64 + col)];
                ASSERT_NEAR(got, want, tol);
                sum2 += static_cast<double>(got) * got;
            }
        EXPECT_NEAR(std::sqrt(sum2 / (96 * 64)), 0.02, 0.002);  // std ~0.02
        auto norm = test::tensorToFloats(m.weights.outputNorm);
        for (float x : norm) EXPECT_EQ(x, 1.0f);
        EXPECT_EQ(meta(m, "file type"), dt == DType::F32 ? "F32" : dt == DType::F16 ? "F16" : "Q8_0");
    }
}

TEST(ModelLoader, RandomLlamaGgufWithStoriesTokenizer) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    auto src = GgufFile::open(path);
    ASSERT_TRUE(src.ok());
    test::TempDir dir("loader");
    test::RandomLlamaSpec s;
    s.dim = 32, s.layers = 1, s.heads = 2, s.kvHeads = 1, s.ffn = 64, s.vocab = 512;
    s.tiedOutput = true;
    s.tokenizerFrom = &*src;
    const std::string out = dir.file("tok.gguf");
    ASSERT_TRUE(test::writeRandomLlamaGguf(out, s).ok());
    auto r = loadModel(out);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE((*r)->config.tiedOutput);
    EXPECT_EQ((*r)->weights.output.data, (*r)->weights.tokenEmbedding.data);
    EXPECT_EQ((*r)->tokenizer.kind, TokenizerSpec::Kind::SentencePieceEmbedded);
    EXPECT_EQ((*r)->tokenizer.tokens[403], "▁Once");
    EXPECT_EQ((*r)->tokenizer.bosId, 1);

    s.vocab = 100;  // must match the tokenizer
    auto bad = test::writeRandomLlamaGguf(dir.file("bad.gguf"), s);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().describe().find("differs from the tokenizer"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Synthetic families

TEST(ModelLoader, TinyLlamaTiedAndKeyDefaults) {
    test::TempDir dir("loader");
    TinyGguf t;
    t.tied = true;
    t.keyEdits[t.arch + ".attention.head_count_kv"] = std::nullopt;  // defaults to head_count
    t.kvHeads = 4;
    auto r = loadModel(t.write(dir.file("tiny.gguf")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const LoadedModel& m = **r;
    EXPECT_EQ(m.config.nKvHeads, 4);
    EXPECT_EQ(m.config.headDim, 4);
    EXPECT_EQ(m.config.ropeDim, 4);
    EXPECT_TRUE(m.config.tiedOutput);
    EXPECT_EQ(m.weights.output.data, m.weights.tokenEmbedding.data);
    EXPECT_EQ(m.weights.tokenEmbedding.rows, 12);
    EXPECT_EQ(m.weights.tokenEmbedding.cols, 16);
    EXPECT_EQ(m.weights.layers[1].wDown.rows, 16);
    EXPECT_EQ(m.weights.layers[1].wDown.cols, 24);
    auto emb = test::tensorToFloats(m.weights.tokenEmbedding);
    EXPECT_EQ(emb[37], TinyGguf::value("token_embd.weight", 37));
    EXPECT_EQ(m.tokenizer.padId, -1);
    EXPECT_TRUE(m.tokenizer.addBos);
    EXPECT_FALSE(m.tokenizer.removeExtraWhitespaces);

    // Tokenizer flags written by newer converters.
    TinyGguf f;
    f.keyEdits["tokenizer.ggml.add_bos_token"] = test::ggufBool(false);
    f.keyEdits["tokenizer.ggml.add_space_prefix"] = test::ggufBool(false);
    f.keyEdits["tokenizer.ggml.remove_extra_whitespaces"] = test::ggufBool(true);
    auto r2 = loadModel(f.write(dir.file("flags.gguf")));
    ASSERT_TRUE(r2.ok()) << r2.error().describe();
    EXPECT_FALSE((*r2)->tokenizer.addBos);
    EXPECT_FALSE((*r2)->tokenizer.addSpacePrefix);
    EXPECT_TRUE((*r2)->tokenizer.removeExtraWhitespaces);
}

TEST(ModelLoader, Qwen2Gguf) {
    test::TempDir dir("loader");
    TinyGguf t;
    t.arch = "qwen2";
    t.keyEdits["qwen2.rope.freq_base"] = test::ggufF32(1000000.0f);
    t.keyEdits["tokenizer.ggml.model"] = test::ggufString("gpt2");
    t.keyEdits["tokenizer.ggml.pre"] = test::ggufString("qwen2");
    t.keyEdits["tokenizer.ggml.merges"] = test::ggufStringArray({"t o", "to k"});
    t.keyEdits["tokenizer.ggml.scores"] = std::nullopt;
    auto r = loadModel(t.write(dir.file("qwen2.gguf")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const LoadedModel& m = **r;
    EXPECT_EQ(m.config.arch, Architecture::Qwen2);
    EXPECT_TRUE(m.config.qkvBias);
    EXPECT_EQ(m.config.ropeLayout, RopeLayout::RotateHalf);
    EXPECT_EQ(m.config.ropeTheta, 1000000.0f);
    EXPECT_TRUE(m.weights.layers[1].bk.present());
    EXPECT_EQ(m.weights.layers[1].bk.cols, 8);
    EXPECT_EQ(m.tokenizer.kind, TokenizerSpec::Kind::Gpt2Bpe);
    EXPECT_EQ(m.tokenizer.pre, "qwen2");
    EXPECT_EQ(m.tokenizer.merges.size(), 2u);
    EXPECT_TRUE(m.tokenizer.scores.empty());
    EXPECT_FALSE(m.tokenizer.addBos);

    // qwen2 without its biases is incomplete.
    TinyGguf nb = t;
    nb.shapeEdits["blk.1.attn_v.bias"] = std::nullopt;
    auto e = loadModel(nb.write(dir.file("qwen2-nobias.gguf")));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().describe().find("missing required tensor 'blk.1.attn_v.bias'"), std::string::npos);
}

TEST(ModelLoader, Gemma3Gguf) {
    test::TempDir dir("loader");
    TinyGguf t;
    t.arch = "gemma3";
    t.layers = 7;
    t.keyEdits["gemma3.attention.sliding_window"] = test::ggufU32(4);
    t.keyEdits["gemma3.rope.freq_base"] = test::ggufF32(1000000.0f);
    t.keyEdits["gemma3.attention.key_length"] = test::ggufU32(4);
    t.keyEdits["gemma3.attention.value_length"] = test::ggufU32(4);
    t.keyEdits["gemma3.rope.scaling.type"] = test::ggufString("linear");
    t.keyEdits["gemma3.rope.scaling.factor"] = test::ggufF32(8.0f);
    t.tied = true;
    auto r = loadModel(t.write(dir.file("gemma3.gguf")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const ModelConfig& c = (*r)->config;
    EXPECT_EQ(c.arch, Architecture::Gemma3);
    EXPECT_EQ(c.ropeLayout, RopeLayout::RotateHalf);
    EXPECT_FALSE(c.normAddOne);  // GGUF norms already hold 1 + w
    EXPECT_TRUE(c.qkNorm && c.postAttnNorm && c.postFfnNorm && c.gegluTanh);
    EXPECT_FLOAT_EQ(c.embedScale, 4.0f);
    EXPECT_EQ(c.slidingWindow, 4);
    EXPECT_EQ(c.ropeTheta, 1000000.0f);
    EXPECT_EQ(c.ropeThetaLocal, 10000.0f);
    EXPECT_EQ(c.ropeScaling.kind, RopeScaling::Kind::Linear);
    EXPECT_EQ(c.ropeScaling.factor, 8.0f);
    EXPECT_EQ(c.layerIsLocal, (std::vector<bool>{true, true, true, true, true, false, true}));
    EXPECT_TRUE(c.tiedOutput);
    EXPECT_TRUE((*r)->weights.layers[6].qNorm.present());
    EXPECT_EQ((*r)->weights.layers[6].postFfnNorm.cols, 16);
}

TEST(ModelLoader, Llama3RopeFreqsBecomeLlama3Scaling) {
    test::TempDir dir("loader");
    TinyGguf t;
    t.dim = 64, t.heads = 2, t.kvHeads = 1;  // head size 32 → 16 factors
    t.keyEdits["llama.rope.freq_base"] = test::ggufF32(500000.0f);
    t.keyEdits["llama.rope.scaling.original_context_length"] = test::ggufU32(8192);
    const int hd = 32;
    std::vector<float> factors;
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < hd / 2; ++i) {
        double freq = std::pow(500000.0, -2.0 * i / hd), wl = 2 * pi / freq;
        double f = wl < 8192 / 4.0 ? 1.0 : wl > 8192 / 1.0 ? 8.0 : 1.0 / ((1 - (8192 / wl - 1) / 3) / 8 + (8192 / wl - 1) / 3);
        factors.push_back(static_cast<float>(f));
    }
    t.extra.push_back({"rope_freqs.weight", factors});
    auto r = loadModel(t.write(dir.file("llama3.gguf")));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    const RopeScaling& rs = (*r)->config.ropeScaling;
    EXPECT_EQ(rs.kind, RopeScaling::Kind::Llama3);
    EXPECT_FLOAT_EQ(rs.factor, 8.0f);
    EXPECT_EQ(rs.lowFreqFactor, 1.0f);
    EXPECT_EQ(rs.highFreqFactor, 4.0f);
    EXPECT_EQ(rs.originalContextLength, 8192);

    t.extra.back().second[3] = 2.5f;  // not the llama3 rule
    auto bad = loadModel(t.write(dir.file("llama3-bad.gguf")));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(bad.error().describe().find("does not follow llama3 RoPE scaling"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The semantic catalogue: valid GGUF containers that are not models we can load.

namespace {

struct LoaderCase {
    std::string name;
    std::function<void(TinyGguf&)> edit;
    ErrorKind kind;
    std::string reason;
};

std::vector<LoaderCase> loaderCatalogue() {
    const auto F = ErrorKind::Format, U = ErrorKind::Unsupported;
    std::vector<LoaderCase> c;
    c.push_back({"unknown_architecture", [](TinyGguf& t) { t.keyEdits["general.architecture"] = test::ggufString("gpt9"); },
                 U, "architecture 'gpt9' is not supported"});
    c.push_back({"missing_architecture", [](TinyGguf& t) { t.keyEdits["general.architecture"] = std::nullopt; }, F,
                 "missing required key 'general.architecture'"});
    c.push_back({"architecture_not_string", [](TinyGguf& t) { t.keyEdits["general.architecture"] = test::ggufU32(1); }, F,
                 "key 'general.architecture' must be a string"});
    c.push_back({"missing_block_count", [](TinyGguf& t) { t.keyEdits["llama.block_count"] = std::nullopt; }, F,
                 "missing required key 'llama.block_count'"});
    c.push_back({"missing_rms_eps", [](TinyGguf& t) { t.keyEdits["llama.attention.layer_norm_rms_epsilon"] = std::nullopt; },
                 F, "missing required key 'llama.attention.layer_norm_rms_epsilon'"});
    c.push_back({"block_count_wrong_type", [](TinyGguf& t) { t.keyEdits["llama.block_count"] = test::ggufString("2"); }, F,
                 "key 'llama.block_count' must be an integer"});
    c.push_back({"block_count_zero", [](TinyGguf& t) { t.keyEdits["llama.block_count"] = test::ggufU32(0); }, F,
                 "key 'llama.block_count' = 0 is out of range"});
    c.push_back({"absurd_embedding_length", [](TinyGguf& t) { t.keyEdits["llama.embedding_length"] = test::ggufU64(1ull << 40); },
                 F, "key 'llama.embedding_length' = 1099511627776 is out of range"});
    c.push_back({"head_count_not_dividing", [](TinyGguf& t) { t.keyEdits["llama.attention.head_count"] = test::ggufU32(5); }, F,
                 "head count 5 does not divide the embedding length 16"});
    c.push_back({"kv_heads_not_dividing", [](TinyGguf& t) { t.keyEdits["llama.attention.head_count_kv"] = test::ggufU32(3); }, F,
                 "KV head count 3 must divide head count 4"});
    c.push_back({"odd_rope_dims", [](TinyGguf& t) { t.keyEdits["llama.rope.dimension_count"] = test::ggufU32(3); }, F,
                 "rotary dimension 3 must be even"});
    c.push_back({"negative_rms_eps", [](TinyGguf& t) { t.keyEdits["llama.attention.layer_norm_rms_epsilon"] = test::ggufF32(-1); },
                 F, "RMS epsilon out of range"});
    c.push_back({"per_layer_head_counts", [](TinyGguf& t) {
                     t.keyEdits["llama.attention.head_count_kv"] = test::ggufI32Array({2, 1});
                 },
                 U, "per-layer values of 'llama.attention.head_count_kv' are not supported"});
    c.push_back({"mixture_of_experts", [](TinyGguf& t) { t.keyEdits["llama.expert_count"] = test::ggufU32(8); }, U,
                 "mixture-of-experts models (8 experts) are not supported"});
    c.push_back({"vocab_size_mismatch", [](TinyGguf& t) { t.keyEdits["llama.vocab_size"] = test::ggufU32(13); }, F,
                 "key 'llama.vocab_size' = 13 but token_embd.weight has 12 rows"});
    c.push_back({"missing_token_embd", [](TinyGguf& t) { t.shapeEdits["token_embd.weight"] = std::nullopt; }, F,
                 "missing required tensor 'token_embd.weight'"});
    c.push_back({"missing_required_tensor", [](TinyGguf& t) { t.shapeEdits["blk.1.ffn_up.weight"] = std::nullopt; }, F,
                 "missing required tensor 'blk.1.ffn_up.weight'"});
    c.push_back({"missing_output_norm", [](TinyGguf& t) { t.shapeEdits["output_norm.weight"] = std::nullopt; }, F,
                 "missing required tensor 'output_norm.weight'"});
    c.push_back({"shape_mismatch", [](TinyGguf& t) { t.shapeEdits["blk.0.attn_k.weight"] = std::vector<std::uint64_t>{16, 16}; },
                 F, "tensor 'blk.0.attn_k.weight' has shape [16, 16] (ne0 first), expected [16, 8]"});
    c.push_back({"transposed_ffn_down", [](TinyGguf& t) { t.shapeEdits["blk.1.ffn_down.weight"] = std::vector<std::uint64_t>{16, 24}; },
                 F, "tensor 'blk.1.ffn_down.weight' has shape [16, 24] (ne0 first), expected [24, 16]"});
    c.push_back({"norm_as_3d", [](TinyGguf& t) { t.shapeEdits["blk.0.attn_norm.weight"] = std::vector<std::uint64_t>{16, 1, 2}; },
                 F, "tensor 'blk.0.attn_norm.weight' has shape [16, 1, 2] (ne0 first), expected [16]"});
    c.push_back({"output_wrong_vocab", [](TinyGguf& t) { t.shapeEdits["output.weight"] = std::vector<std::uint64_t>{16, 11}; }, F,
                 "tensor 'output.weight' has shape [16, 11] (ne0 first), expected [16, 12]"});
    c.push_back({"embedding_1d", [](TinyGguf& t) { t.shapeEdits["token_embd.weight"] = std::vector<std::uint64_t>{16}; }, F,
                 "tensor 'token_embd.weight' has shape [16], expected [16, vocab]"});
    c.push_back({"unknown_extra_tensor", [](TinyGguf& t) { t.extra.push_back({"blk.0.attn_output.bias", std::vector<float>(16)}); },
                 U, "tensor 'blk.0.attn_output.bias' is not used by the llama architecture"});
    c.push_back({"partial_biases", [](TinyGguf& t) { t.extra.push_back({"blk.0.attn_q.bias", std::vector<float>(16)}); }, F,
                 "layer 0 has only some of the Q/K/V biases"});
    c.push_back({"rope_scaling_yarn", [](TinyGguf& t) { t.keyEdits["llama.rope.scaling.type"] = test::ggufString("yarn"); }, U,
                 "RoPE scaling 'yarn' is not supported"});
    c.push_back({"linear_scaling_without_factor", [](TinyGguf& t) { t.keyEdits["llama.rope.scaling.type"] = test::ggufString("linear"); },
                 F, "linear RoPE scaling needs a positive 'llama.rope.scaling.factor'"});
    c.push_back({"value_length_differs", [](TinyGguf& t) { t.keyEdits["llama.attention.value_length"] = test::ggufU32(8); }, U,
                 "value head size 8 differs from key head size 4"});
    c.push_back({"tokenizer_tokens_not_strings", [](TinyGguf& t) { t.keyEdits["tokenizer.ggml.tokens"] = test::ggufI32Array({1, 2}); },
                 F, "tokenizer.ggml.tokens must be an array of strings"});
    c.push_back({"tokenizer_more_tokens_than_rows", [](TinyGguf& t) {
                     std::vector<std::string> toks(13, "x");
                     t.keyEdits["tokenizer.ggml.tokens"] = test::ggufStringArray(toks);
                 },
                 F, "the tokenizer has 13 tokens but the embedding has only 12 rows"});
    c.push_back({"tokenizer_scores_length", [](TinyGguf& t) { t.keyEdits["tokenizer.ggml.scores"] = test::ggufF32Array({0, 1}); },
                 F, "tokenizer.ggml.scores has 2 entries for 12 tokens"});
    c.push_back({"tokenizer_types_length", [](TinyGguf& t) { t.keyEdits["tokenizer.ggml.token_type"] = test::ggufI32Array({1}); },
                 F, "tokenizer.ggml.token_type has 1 entries for 12 tokens"});
    c.push_back({"tokenizer_without_tokens", [](TinyGguf& t) { t.keyEdits["tokenizer.ggml.tokens"] = std::nullopt; }, F,
                 "tokenizer 'llama' has no tokenizer.ggml.tokens"});
    c.push_back({"bos_id_wrong_type", [](TinyGguf& t) { t.keyEdits["tokenizer.ggml.bos_token_id"] = test::ggufString("1"); }, F,
                 "key 'tokenizer.ggml.bos_token_id' must be an integer"});
    c.push_back({"gemma3_sliding_window_zero", [](TinyGguf& t) {
                     t.arch = "gemma3";
                     t.keyEdits["gemma3.attention.sliding_window"] = test::ggufU32(0);
                 },
                 F, "the sliding-window layers need a window of at least 1 token (sliding_window is 0)"});
    c.push_back({"gemma3_missing_qk_norm", [](TinyGguf& t) {
                     t.arch = "gemma3";
                     t.keyEdits["gemma3.attention.sliding_window"] = test::ggufU32(4);
                     t.shapeEdits["blk.0.attn_k_norm.weight"] = std::nullopt;
                 },
                 F, "missing required tensor 'blk.0.attn_k_norm.weight'"});
    return c;
}

}  // namespace

TEST(ModelLoader, SemanticCatalogue) {
    test::TempDir dir("loader");
    auto cases = loaderCatalogue();
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        TinyGguf t;
        c.edit(t);
        const std::string path = t.write(dir.file(c.name + ".gguf"));
        auto r = loadModel(path);
        ASSERT_FALSE(r.ok()) << c.name << " loaded without error";
        const std::string text = r.error().describe();
        EXPECT_EQ(r.error().kind, c.kind) << text;
        EXPECT_EQ(r.error().file, path) << text;
        EXPECT_NE(text.find(path), std::string::npos) << text;
        EXPECT_NE(text.find(c.reason), std::string::npos) << c.name << ": " << text;
    }
    // The unedited model loads.
    TinyGguf ok;
    auto r = loadModel(ok.write(dir.file("ok.gguf")));
    EXPECT_TRUE(r.ok()) << r.error().describe();
}

TEST(ModelLoader, SniffsFormats) {
    test::TempDir dir("loader");
    const std::string txt = dir.file("notes.txt");
    test::writeBytes(txt, {'h', 'e', 'l', 'l', 'o'});
    auto r = loadModel(txt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Format);
    EXPECT_NE(r.error().describe().find(txt), std::string::npos);
    EXPECT_NE(r.error().describe().find("not a GGUF file or Hugging Face folder"), std::string::npos);

    const std::string empty = dir.file("empty.gguf");
    test::writeBytes(empty, {});
    r = loadModel(empty);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find("not a GGUF file or Hugging Face folder"), std::string::npos);

    r = loadModel(dir.file("missing.gguf"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Io);
    EXPECT_NE(r.error().describe().find("no such file or folder"), std::string::npos);

    // A folder without config.json.
    r = loadModel(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find("missing config.json"), std::string::npos);

    // A GGUF container error surfaces through loadModel unchanged.
    auto bytes = test::GgufWriter().bytes();
    bytes[4] = 9;
    const std::string v9 = dir.file("v9.gguf");
    test::writeBytes(v9, bytes);
    r = loadModel(v9);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(r.error().describe().find("unsupported GGUF version 9"), std::string::npos);
}

TEST(ModelLoader, MutatedStoriesBytes) {
    REQUIRE_MODEL(path, "stories260K.gguf");
    auto bytes = test::readBytes(path);
    auto g = GgufFile::open(path);
    ASSERT_TRUE(g.ok());
    test::TempDir dir("loader");
    // Rename the architecture in place ("llama" → "llamb"): an unknown architecture.
    const std::string key = "general.architecture";
    auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
    ASSERT_NE(it, bytes.end());
    const std::size_t valueAt = static_cast<std::size_t>(it - bytes.begin()) + key.size() + 4 + 8;
    ASSERT_EQ(std::string(bytes.begin() + static_cast<std::ptrdiff_t>(valueAt),
                          bytes.begin() + static_cast<std::ptrdiff_t>(valueAt) + 5),
              "llama");
    auto renamed = bytes;
    renamed[valueAt + 4] = 'b';
    const std::string p1 = dir.file("llamb.gguf");
    test::writeBytes(p1, renamed);
    auto r = loadModel(p1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(r.error().describe().find("architecture 'llamb' is not supported"), std::string::npos);

    // Change ne1 of blk.0.attn_k.weight from 32 to 16: the tensor now claims half of its bytes,
    // and the other half lies unused before the next tensor.
    const GgufTensorInfo* k = g->findTensor("blk.0.attn_k.weight");
    auto reshaped = bytes;
    const std::uint64_t ne1At = k->infoOffset + 8 + k->name.size() + 4 + 8;
    std::uint64_t sixteen = 16;
    std::memcpy(reshaped.data() + ne1At, &sixteen, 8);
    const std::string p2 = dir.file("reshaped.gguf");
    test::writeBytes(p2, reshaped);
    r = loadModel(p2);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find("tensor 'blk.0.attn_k.weight' is tagged F32 (4096 bytes) but is followed by "
                                        "4096 unused bytes: its type tag or shape does not match its data"),
              std::string::npos)
        << r.error().describe();

    // Truncate the tensor data.
    const std::string p3 = dir.file("short.gguf");
    test::writeBytes(p3, std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 100));
    r = loadModel(p3);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find("runs past the end of the file"), std::string::npos);
}
