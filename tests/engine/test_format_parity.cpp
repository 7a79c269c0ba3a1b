// The same weights through different files must give the same analysis: stories260K from its
// GGUF (adjacent-pair RoPE, F32) and as a Hugging Face folder (rotate-half RoPE, F32 / BF16,
// sharded), and a random llama GGUF in F32 vs F16 vs Q8_0.
#include <gtest/gtest.h>

#include <cmath>

#include "common/model_writers.h"
#include "model/model_loader.h"
#include "session/session.h"

using namespace attnscope;
using namespace attnscope::test;

namespace {

std::shared_ptr<const RunOutput> analyze(const std::string& modelPath, const ContextSpec& spec, const EncodingOptions& o) {
    SessionOptions so;
    so.device = "cpu";
    auto s = Session::open(modelPath, so);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().describe());
    if (!s.ok()) return nullptr;
    auto plan = (*s)->plan(spec, o);
    EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().describe());
    if (!plan.ok()) return nullptr;
    auto run = (*s)->analyze(*plan);
    EXPECT_TRUE(run.ok()) << (run.ok() ? "" : run.error().describe());
    return run.ok() ? *run : nullptr;
}

// Exact formats: every value within `tol`. Lossy formats (bf16, f16, q8_0): the mean absolute
// difference within `tol` (single heads may move more when rounding flips a selection).
void expectClose(const AnalysisResult& a, const AnalysisResult& b, double tol, bool exact) {
    ASSERT_EQ(a.entropy.size(), b.entropy.size());
    double worst = 0, sum = 0;
    for (std::size_t i = 0; i < a.entropy.size(); ++i) {
        double d = std::fabs(double(a.entropy[i]) - b.entropy[i]);
        worst = std::max(worst, d);
        sum += d;
    }
    if (exact) EXPECT_LE(worst, tol);
    else EXPECT_LE(sum / a.entropy.size(), tol);
    double nllSum = 0;
    int n = 0;
    for (std::size_t q = 0; q < a.nllNext.size(); ++q) {
        if (std::isnan(a.nllNext[q])) continue;
        double d = std::fabs(double(a.nllNext[q]) - b.nllNext[q]);
        if (exact) {
            EXPECT_LE(d, tol) << "query " << q;
            EXPECT_EQ(a.argmaxNext[q], b.argmaxNext[q]) << "query " << q;
        }
        nllSum += d;
        ++n;
    }
    if (n) EXPECT_LE(nllSum / n, tol);
    ::testing::Test::RecordProperty("worst_entropy_difference", std::to_string(worst));
}

ContextSpec storyContext() {
    ContextSpec c;
    c.prefix = "Once upon a time";
    c.chunks = {"Lily had a red ball. She liked to play with it in the park.",
                "One day a big dog came and took the ball away.",
                "Lily was sad. Her mom said they would find the ball."};
    c.query = "Then the dog came back with the ball and Lily was happy again.";
    return c;
}

}  // namespace

TEST(FormatParity, Stories260KGgufEqualsHuggingFaceFolder) {
    auto gguf = loadModel(resolveModelPath("stories260K.gguf"));
    ASSERT_TRUE(gguf.ok()) << gguf.error().describe();
    const std::string tok = testModelsDir() + "/tok512.model";
    EncodingOptions o;
    o.selective.topK = 2;
    auto ref = analyze((*gguf)->path, storyContext(), o);
    ASSERT_TRUE(ref);

    const TempDir f32Dir("parity-hf-f32");
    const std::string& f32 = f32Dir.path();
    ASSERT_TRUE(writeHfFolderFromModel(**gguf, f32, DType::F32, tok, 2).ok());
    auto hf = analyze(f32, storyContext(), o);
    ASSERT_TRUE(hf);
    // Same float32 weights, only the rotary layout and file format differ: rounding-level agreement.
    expectClose(ref->stats, hf->stats, 1e-4, true);

    const TempDir bf16Dir("parity-hf-bf16");
    const std::string& bf16 = bf16Dir.path();
    ASSERT_TRUE(writeHfFolderFromModel(**gguf, bf16, DType::BF16, tok).ok());
    auto hb = analyze(bf16, storyContext(), o);
    ASSERT_TRUE(hb);
    // BF16 keeps 8 mantissa bits (relative error 2^-9 per weight): statistics move by ~1e-2.
    expectClose(ref->stats, hb->stats, 0.02, false);
}

TEST(FormatParity, QuantisedGgufTracksF32) {
    const TempDir scratch("parity-quant");
    const std::string& dir = scratch.path();
    ContextSpec spec;
    spec.prefixIds = std::vector<std::int32_t>{5, 6, 7};
    spec.chunkIds = std::vector<std::vector<std::int32_t>>{{10, 11, 12, 13, 14}, {20, 21, 22, 23}, {30, 31, 32, 33, 34, 35}};
    spec.queryIds = std::vector<std::int32_t>{40, 41, 42, 43, 44};
    std::shared_ptr<const RunOutput> runs[3];
    const DType types[3] = {DType::F32, DType::F16, DType::Q8_0};
    for (int i = 0; i < 3; ++i) {
        RandomLlamaSpec s;
        s.dim = 64;
        s.heads = 4;
        s.kvHeads = 2;
        s.ffn = 128;
        s.vocab = 128;
        s.layers = 2;
        s.stddev = 0.2f;
        s.dtype = types[i];
        const std::string path = dir + "/m" + std::to_string(i) + ".gguf";
        ASSERT_TRUE(writeRandomLlamaGguf(path, s).ok());
        runs[i] = analyze(path, spec, EncodingOptions{});
        ASSERT_TRUE(runs[i]);
    }
    expectClose(runs[0]->stats, runs[1]->stats, 2e-3, false);   // F16: 11-bit mantissa
    expectClose(runs[0]->stats, runs[2]->stats, 5e-2, false);   // Q8_0: 8-bit blocks of 32
}
