// Writes the seed corpora under tests/fuzz/corpus/ (run once by hand; the seeds are committed):
// small GGUF models of each family with an embedded vocabulary, Hugging Face folders packed as
// "config.json NUL model.safetensors", contexts and sessions. Usage:
//   make_seeds SOURCE_DIR MODELS_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/model_writers.h"
#include "core/json.h"
#include "model/gguf_model_loader.h"
#include "model/gguf_reader.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

struct Tiny {
    std::string arch;
    std::uint64_t dim = 8, heads = 2, kvHeads = 1, ffn = 16, layers = 2, vocab = 0;
};

std::vector<std::pair<std::string, std::vector<std::uint64_t>>> tinyTensors(const Tiny& t) {
    const std::uint64_t hd = t.dim / t.heads, kvd = hd * t.kvHeads;
    std::vector<std::pair<std::string, std::vector<std::uint64_t>>> out = {{"token_embd.weight", {t.dim, t.vocab}},
                                                                           {"output_norm.weight", {t.dim}}};
    for (std::uint64_t i = 0; i < t.layers; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        for (const char* n : {"attn_norm", "ffn_norm"}) out.push_back({p + n + ".weight", {t.dim}});
        out.push_back({p + "attn_q.weight", {t.dim, t.dim}});
        out.push_back({p + "attn_k.weight", {t.dim, kvd}});
        out.push_back({p + "attn_v.weight", {t.dim, kvd}});
        out.push_back({p + "attn_output.weight", {t.dim, t.dim}});
        out.push_back({p + "ffn_gate.weight", {t.dim, t.ffn}});
        out.push_back({p + "ffn_up.weight", {t.dim, t.ffn}});
        out.push_back({p + "ffn_down.weight", {t.ffn, t.dim}});
        if (t.arch == "qwen2")
            for (auto [n, len] : {std::pair{"attn_q.bias", t.dim}, {"attn_k.bias", kvd}, {"attn_v.bias", kvd}})
                out.push_back({p + n, {len}});
        if (t.arch == "gemma3") {
            out.push_back({p + "attn_q_norm.weight", {hd}});
            out.push_back({p + "attn_k_norm.weight", {hd}});
            out.push_back({p + "post_attention_norm.weight", {t.dim}});
            out.push_back({p + "post_ffw_norm.weight", {t.dim}});
        }
    }
    return out;
}

void addHyperParameters(test::GgufWriter& w, const Tiny& t) {
    const std::string& a = t.arch;
    w.add("general.architecture", test::ggufString(a));
    w.add("general.name", test::ggufString("tiny-" + a));
    w.add(a + ".context_length", test::ggufU32(128));
    w.add(a + ".embedding_length", test::ggufU32(static_cast<std::uint32_t>(t.dim)));
    w.add(a + ".feed_forward_length", test::ggufU32(static_cast<std::uint32_t>(t.ffn)));
    w.add(a + ".block_count", test::ggufU32(static_cast<std::uint32_t>(t.layers)));
    w.add(a + ".attention.head_count", test::ggufU32(static_cast<std::uint32_t>(t.heads)));
    w.add(a + ".attention.head_count_kv", test::ggufU32(static_cast<std::uint32_t>(t.kvHeads)));
    w.add(a + ".attention.layer_norm_rms_epsilon", test::ggufF32(1e-6f));
    w.add(a + ".rope.freq_base", test::ggufF32(10000.0f));
    if (a == "gemma3") {
        w.add(a + ".attention.sliding_window", test::ggufU32(4));
        w.add(a + ".attention.sliding_window_pattern", test::ggufU32(2));
    }
}

void addTensors(test::GgufWriter& w, const Tiny& t) {
    for (auto& [name, ne] : tinyTensors(t)) {
        std::uint64_t n = 1;
        for (auto x : ne) n *= x;
        std::vector<float> values(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * static_cast<float>(i % 17) - 0.05f;
        w.addTensor(name, ne, DType::F32, values);
    }
}

// Every tokenizer.ggml.* key of `from`.
std::uint64_t copyVocabulary(test::GgufWriter& w, const GgufFile& from) {
    for (const auto& [key, value] : from.metadata())
        if (key.rfind("tokenizer.ggml.", 0) == 0) w.add(key, value);
    return from.find("tokenizer.ggml.tokens")->count;
}

// The BPE test fixture's tokens, types and merges as a gpt2 vocabulary.
std::uint64_t bpeVocabulary(test::GgufWriter& w, const Json& fixture) {
    std::vector<std::string> tokens, merges;
    std::vector<std::int32_t> types;
    for (const Json& t : fixture.find("tokens")->asArray()) tokens.push_back(t.asString());
    for (const Json& t : fixture.find("token_types")->asArray()) types.push_back(static_cast<std::int32_t>(t.asInt()));
    for (const Json& m : fixture.find("merges")->asArray()) merges.push_back(m.asString());
    w.add("tokenizer.ggml.model", test::ggufString("gpt2"));
    w.add("tokenizer.ggml.pre", test::ggufString(fixture.find("pre")->asString()));
    w.add("tokenizer.ggml.tokens", test::ggufStringArray(tokens));
    w.add("tokenizer.ggml.token_type", test::ggufI32Array(types));
    w.add("tokenizer.ggml.merges", test::ggufStringArray(merges));
    w.add("tokenizer.ggml.bos_token_id", test::ggufU32(static_cast<std::uint32_t>(fixture.find("bos_id")->asInt())));
    w.add("tokenizer.ggml.eos_token_id", test::ggufU32(static_cast<std::uint32_t>(fixture.find("eos_id")->asInt())));
    return tokens.size();
}

// A 38-token SentencePiece vocabulary without byte fallback.
std::uint64_t smallSentencePieceVocabulary(test::GgufWriter& w) {
    std::vector<std::string> tokens = {"<pad>", "<eos>", "<bos>", "<unk>", "▁", "▁▁"};
    std::vector<float> scores(tokens.size(), 0.0f);
    std::vector<std::int32_t> types = {3, 3, 3, 2, 1, 1};
    for (const char* piece :
         {"a",  "b",  "c",  "e",  "o",  "t",  "▁a", "▁t", "th", "▁th", "he", "▁the", "in",  "er",  "on", "an",
          "re", "at", "en", "es", "or", "ti", "te", "ed", "is", "▁o",  "▁c", "▁in",  "▁is", "▁an", "\t", "\n"}) {
        tokens.push_back(piece);
        scores.push_back(-static_cast<float>(tokens.size()));
        types.push_back(1);
    }
    w.add("tokenizer.ggml.model", test::ggufString("llama"));
    w.add("tokenizer.ggml.tokens", test::ggufStringArray(tokens));
    w.add("tokenizer.ggml.scores", test::ggufF32Array(scores));
    w.add("tokenizer.ggml.token_type", test::ggufI32Array(types));
    w.add("tokenizer.ggml.bos_token_id", test::ggufU32(2));
    w.add("tokenizer.ggml.eos_token_id", test::ggufU32(1));
    w.add("tokenizer.ggml.unknown_token_id", test::ggufU32(3));
    w.add("tokenizer.ggml.add_space_prefix", test::ggufBool(false));
    return tokens.size();
}

void writeSeed(const fs::path& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    fs::create_directories(dir);
    test::writeBytes((dir / name).string(), bytes);
    std::printf("%s (%zu bytes)\n", (dir / name).c_str(), bytes.size());
}

std::vector<std::uint8_t> bytesOf(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> tinyGguf(Tiny t, const std::function<std::uint64_t(test::GgufWriter&)>& vocabulary) {
    test::GgufWriter w;
    t.vocab = vocabulary(w);
    addHyperParameters(w, t);
    addTensors(w, t);
    return w.bytes();
}

// config.json NUL model.safetensors, from a tiny GGUF model.
std::vector<std::uint8_t> hfSeed(const std::string& ggufPath) {
    auto model = loadGgufModel(ggufPath);
    if (!model) throw std::runtime_error(model.error().describe());
    auto folder = test::hfFolderFromModel(*model);
    if (!folder) throw std::runtime_error(folder.error().describe());
    test::SafetensorsWriter st;
    for (const auto& t : folder->tensors) st.add(t.name, t.shape, DType::F32, t.values);
    std::vector<std::uint8_t> out = bytesOf(folder->config.dump(2));
    out.push_back(0);
    auto weights = st.bytes();
    out.insert(out.end(), weights.begin(), weights.end());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_seeds SOURCE_DIR MODELS_DIR\n");
        return 2;
    }
    const fs::path src = argv[1], models = argv[2], corpus = src / "tests/fuzz/corpus";
    auto stories = GgufFile::open((models / "stories260K.gguf").string());
    auto qwenFixture = Json::parseFile((src / "tests/data/bpe/qwen2.json").string());
    if (!stories || !qwenFixture) {
        std::fprintf(stderr, "make_seeds: needs stories260K.gguf and tests/data/bpe/qwen2.json\n");
        return 1;
    }
    const auto llama = tinyGguf({"llama"}, [&](auto& w) { return copyVocabulary(w, *stories); });
    const auto qwen2 = tinyGguf({"qwen2"}, [&](auto& w) { return bpeVocabulary(w, *qwenFixture); });
    const auto gemma3 = tinyGguf({"gemma3"}, smallSentencePieceVocabulary);
    writeSeed(corpus / "gguf", "tiny-llama-sentencepiece.gguf", llama);
    writeSeed(corpus / "gguf", "tiny-qwen2-bpe.gguf", qwen2);
    writeSeed(corpus / "gguf", "tiny-gemma3.gguf", gemma3);

    const test::TempDir scratchDir("fuzz-seeds");
    const fs::path scratch = scratchDir.path();
    for (auto [name, bytes] : {std::pair{"llama", llama}, {"qwen2", qwen2}}) {
        const std::string path = (scratch / (std::string(name) + ".gguf")).string();
        test::writeBytes(path, bytes);
        writeSeed(corpus / "hf_model", std::string("tiny-") + name + ".bin", hfSeed(path));
    }
    return 0;
}
