// make_random_gguf: writes a llama-architecture GGUF with random weights (N(0, 0.02²), norms 1),
// for tests and benchmarks of models we cannot ship.
//
//   make_random_gguf OUT.gguf [--preset stories260k|110m|8b-layer]
//                    [--dim D --layers L --heads H --kv-heads K --ffn F --vocab V]
//                    [--dtype f32|f16|bf16|q8_0] [--seed S] [--tied|--untied]
//                    [--tokenizer-from GGUF]
//
// Presets (explicit sizes override them):
//   stories260k  dim 64, 5 layers, 8 heads, 4 KV heads, FFN 172, vocab 512 (the shapes of
//                stories260K; with --tokenizer-from stories260K.gguf it tokenizes text)
//   110m         dim 768, 12 layers, 12 heads, FFN 2048, vocab 32000, tied output (~110M params)
//   8b-layer     one Llama-3-8B-sized layer: dim 4096, 32 heads, 8 KV heads, FFN 14336,
//                vocab 32000, rope base 500000
// --tokenizer-from copies every tokenizer.ggml.* key from that GGUF; the vocabulary size then
// defaults to its token count.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "common/model_writers.h"
#include "model/gguf_reader.h"

using namespace attnscope;

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: make_random_gguf OUT.gguf [--preset stories260k|110m|8b-layer]\n"
                 "       [--dim D] [--layers L] [--heads H] [--kv-heads K] [--ffn F] [--vocab V]\n"
                 "       [--dtype f32|f16|bf16|q8_0] [--seed S] [--tied|--untied] [--tokenizer-from GGUF]\n");
}

bool parseInt(const char* s, long long lo, long long hi, long long& out) {
    char* end = nullptr;
    long long v = std::strtoll(s, &end, 10);
    if (!end || *end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    std::string out;
    std::string tokenizerFrom;
    test::RandomLlamaSpec spec;
    spec.name = "random-llama";
    std::optional<int> dim, layers, heads, kvHeads, ffn, vocab;
    std::optional<bool> tied;

    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "make_random_gguf: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        auto intArg = [&](std::optional<int>& dst, long long hi) {
            long long v;
            const char* s = next();
            if (!parseInt(s, 1, hi, v)) {
                std::fprintf(stderr, "make_random_gguf: bad value '%s' for %s\n", s, a.c_str());
                std::exit(2);
            }
            dst = static_cast<int>(v);
        };
        if (a == "--preset") {
            std::string p = next();
            if (p == "stories260k") {
                spec.name = "random-stories260k";
                spec.dim = 64, spec.layers = 5, spec.heads = 8, spec.kvHeads = 4, spec.ffn = 172, spec.vocab = 512;
                spec.tiedOutput = false;
            } else if (p == "110m") {
                spec.name = "random-110m";
                spec.dim = 768, spec.layers = 12, spec.heads = 12, spec.kvHeads = 12, spec.ffn = 2048, spec.vocab = 32000;
                spec.tiedOutput = true;
            } else if (p == "8b-layer") {
                spec.name = "random-8b-layer";
                spec.dim = 4096, spec.layers = 1, spec.heads = 32, spec.kvHeads = 8, spec.ffn = 14336, spec.vocab = 32000;
                spec.ropeTheta = 500000.0f;
                spec.contextLength = 8192;
                spec.tiedOutput = false;
            } else {
                std::fprintf(stderr, "make_random_gguf: unknown preset '%s'\n", p.c_str());
                return 2;
            }
        } else if (a == "--dim") intArg(dim, 1 << 16);
        else if (a == "--layers") intArg(layers, 1024);
        else if (a == "--heads") intArg(heads, 1024);
        else if (a == "--kv-heads") intArg(kvHeads, 1024);
        else if (a == "--ffn") intArg(ffn, 1 << 20);
        else if (a == "--vocab") intArg(vocab, 1 << 22);
        else if (a == "--seed") {
            long long v;
            const char* s = next();
            if (!parseInt(s, 0, INT64_MAX, v)) {
                std::fprintf(stderr, "make_random_gguf: bad seed '%s'\n", s);
                return 2;
            }
            spec.seed = static_cast<std::uint64_t>(v);
        } else if (a == "--dtype") {
            std::string t = next();
            if (t == "f32") spec.dtype = DType::F32;
            else if (t == "f16") spec.dtype = DType::F16;
            else if (t == "bf16") spec.dtype = DType::BF16;
            else if (t == "q8_0") spec.dtype = DType::Q8_0;
            else {
                std::fprintf(stderr, "make_random_gguf: unknown dtype '%s'\n", t.c_str());
                return 2;
            }
        } else if (a == "--tied") tied = true;
        else if (a == "--untied") tied = false;
        else if (a == "--tokenizer-from") tokenizerFrom = next();
        else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "make_random_gguf: unknown option '%s'\n", a.c_str());
            usage();
            return 2;
        } else if (out.empty()) out = a;
        else {
            std::fprintf(stderr, "make_random_gguf: more than one output file given\n");
            return 2;
        }
    }
    if (out.empty()) {
        usage();
        return 2;
    }
    if (dim) spec.dim = *dim;
    if (layers) spec.layers = *layers;
    if (heads) spec.heads = *heads;
    if (kvHeads) spec.kvHeads = *kvHeads;
    else if (heads && spec.heads % spec.kvHeads != 0) spec.kvHeads = spec.heads;
    if (ffn) spec.ffn = *ffn;
    if (tied) spec.tiedOutput = *tied;

    std::optional<GgufFile> tokSource;
    if (!tokenizerFrom.empty()) {
        auto g = GgufFile::open(tokenizerFrom);
        if (!g) {
            std::fprintf(stderr, "make_random_gguf: %s\n", g.error().describe().c_str());
            return 1;
        }
        tokSource = std::move(*g);
        const GgufValue* tokens = tokSource->find("tokenizer.ggml.tokens");
        if (!tokens || !tokens->isArray()) {
            std::fprintf(stderr, "make_random_gguf: %s has no tokenizer.ggml.tokens\n", tokenizerFrom.c_str());
            return 1;
        }
        spec.vocab = static_cast<int>(tokens->count);
        spec.tokenizerFrom = &*tokSource;
    }
    if (vocab) spec.vocab = *vocab;

    auto r = test::writeRandomLlamaGguf(out, spec);
    if (!r) {
        std::fprintf(stderr, "make_random_gguf: %s\n", r.error().describe().c_str());
        return 1;
    }
    const double hd = static_cast<double>(spec.dim) / spec.heads;
    const double params = static_cast<double>(spec.vocab) * spec.dim * (spec.tiedOutput ? 1 : 2) + spec.dim +
                          spec.layers * (2.0 * spec.dim + 2.0 * spec.dim * spec.dim +
                                         2.0 * spec.dim * hd * spec.kvHeads + 3.0 * spec.dim * spec.ffn);
    std::printf("wrote %s: llama, dim %d, %d layers, %d heads (%d KV), FFN %d, vocab %d, %s, %.1fM parameters\n",
                out.c_str(), spec.dim, spec.layers, spec.heads, spec.kvHeads, spec.ffn, spec.vocab,
                dtypeName(spec.dtype), params / 1e6);
    return 0;
}
