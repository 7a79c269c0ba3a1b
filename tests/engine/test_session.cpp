// The Session's contracts for bad input: a model without a tokenizer opens and says so (token-id
// contexts work, text contexts and the sweep are errors naming the model); a BOS id outside the
// vocabulary is named; a context beyond the model's context length, or text too long for it,
// is refused before any run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "common/model_writers.h"
#include "model/model_loader.h"
#include "session/session.h"
#include "session/sweep.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

SessionOptions onCpu() {
    SessionOptions so;
    so.device = "cpu";
    so.threads = 1;
    return so;
}

ContextSpec idContext() {
    ContextSpec spec;
    spec.chunkIds = std::vector<std::vector<std::int32_t>>{{10, 11, 12}, {20, 21}};
    spec.queryIds = std::vector<std::int32_t>{30, 31, 32};
    return spec;
}

// stories260K as a Hugging Face folder without tokenizer.model, config.json's BOS id set to `bos`.
// Writes the folder into `dir`; false when stories260K.gguf is missing.
bool folderWithoutTokenizer(const test::TempDir& dir, int bos) {
    const std::string models = test::testModelsDir();
    if (models.empty() || !fs::exists(fs::path(models) / "stories260K.gguf")) return false;
    auto model = loadModel((fs::path(models) / "stories260K.gguf").string());
    if (!model) return false;
    auto folder = test::hfFolderFromModel(**model);
    if (!folder) return false;
    folder->config["bos_token_id"] = bos;
    return test::writeHfFolder(dir.path(), *folder).ok();
}

}  // namespace

TEST(Session, ModelWithoutTokenizerOpensAndEveryUserChecks) {
    const test::TempDir folder("notok");
    const std::string& dir = folder.path();
    if (!folderWithoutTokenizer(folder, 1)) GTEST_SKIP() << "stories260K.gguf not found";
    std::vector<std::string> notices;
    auto s = Session::open(dir, onCpu(), [&](const std::string& m) { notices.push_back(m); });
    ASSERT_TRUE(s.ok()) << s.error().describe();
    EXPECT_EQ((*s)->tokenizer(), nullptr);
    EXPECT_EQ((*s)->tokenizerPtr(), nullptr);
    EXPECT_FALSE((*s)->tokenizerError().empty());
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_NE(notices[0].find("tokenizer unavailable"), std::string::npos) << notices[0];

    // Token ids need no tokenizer: the plan and the run work, BOS from config.json.
    EncodingOptions bos;
    bos.bos = BosPolicy::Shared;
    auto plan = (*s)->plan(idContext(), bos);
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    EXPECT_EQ(plan->ids[0], 1);
    auto run = (*s)->analyze(*plan);
    ASSERT_TRUE(run.ok()) << run.error().describe();

    // Text is an error naming the model folder and why it has no tokenizer.
    ContextSpec text;
    text.chunks = {"Once upon a time"};
    text.query = "there was";
    auto t = (*s)->plan(text, {});
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().file, (*s)->model().path);
    EXPECT_NE(t.error().message.find("has no tokenizer"), std::string::npos) << t.error().message;
    auto sweep = runSweep(**s, "Once upon a time there was a cat.", SweepOptions{});
    ASSERT_FALSE(sweep.ok());
    EXPECT_EQ(sweep.error().file, (*s)->model().path);
    fs::remove_all(dir);
}

TEST(Session, BosOutsideTheVocabularyIsNamed) {
    const test::TempDir folder("badbos");
    const std::string& dir = folder.path();
    if (!folderWithoutTokenizer(folder, 600)) GTEST_SKIP() << "stories260K.gguf not found";
    auto s = Session::open(dir, onCpu());
    ASSERT_TRUE(s.ok()) << s.error().describe();
    EncodingOptions bos;
    bos.bos = BosPolicy::PerChunk;
    auto plan = (*s)->plan(idContext(), bos);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error().file, (*s)->model().path);
    EXPECT_NE(plan.error().message.find("the model's BOS id 600 is outside the vocabulary of size 512"),
              std::string::npos)
        << plan.error().message;
    fs::remove_all(dir);
}

// stories260K has a context length of 2048: a full-attention context past it is refused, and a
// chunk text that surely tokenises past it is refused at once (not tokenised whole).
TEST(Session, ContextLengthBoundsThePlan) {
    auto s = Session::open("stories260K.gguf", onCpu());
    if (!s && s.error().kind == ErrorKind::Io) GTEST_SKIP() << s.error().describe();
    ASSERT_TRUE(s.ok()) << s.error().describe();
    ASSERT_EQ((*s)->model().config.contextLength, 2048);
    ContextSpec longIds;
    longIds.chunkIds = std::vector<std::vector<std::int32_t>>{std::vector<std::int32_t>(1500, 10),
                                                              std::vector<std::int32_t>(1500, 11)};
    longIds.queryIds = std::vector<std::int32_t>{12, 13};
    EncodingOptions full;
    full.mode = EncodingMode::Full;
    auto f = (*s)->plan(longIds, full);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("beyond the model's context length of 2048"), std::string::npos);
    EXPECT_TRUE((*s)->plan(longIds, EncodingOptions{}).ok());  // in parallel, positions reach 1501

    ContextSpec huge;
    huge.chunks = {std::string(50u << 20, 'a')};
    huge.query = "the end";
    const auto t0 = std::chrono::steady_clock::now();
    auto h = (*s)->plan(huge, EncodingOptions{});
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message.find("more tokens than the model's context length of 2048"), std::string::npos)
        << h.error().message;
    EXPECT_LT(secs, 1.0);
}
