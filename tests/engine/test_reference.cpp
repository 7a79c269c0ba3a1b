// The engine against the golden outputs of an independent LLaMA implementation
// (../shared/reference/stories260K/*.json): positions identical, entropy and NLL within 1e-3
// nats, arg-max identical — for every case, from the texts (through our tokenizer) and ids.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/reference_cases.h"
#include "core/json.h"
#include "model/model_loader.h"
#include "session/session.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

Session& session() {
    static std::unique_ptr<Session> s = [] {
        SessionOptions o;
        o.device = "cpu";
        auto r = Session::open("stories260K.gguf", o);
        if (!r) {
            ADD_FAILURE() << r.error().describe();
            return std::unique_ptr<Session>();
        }
        return std::move(*r);
    }();
    return *s;
}


void checkCase(const std::string& path, bool fromText) {
    SCOPED_TRACE(path + (fromText ? " (text)" : " (ids)"));
    auto doc = Json::parseFile(path);
    ASSERT_TRUE(doc.ok()) << doc.error().describe();
    const Json& ctx = *doc->find("context");
    Json input = Json::object();
    if (fromText) {
        input["prefix"] = *ctx.find("prefix");
        input["chunks"] = *ctx.find("chunks");
        input["query"] = *ctx.find("query");
    } else {
        input["prefix_ids"] = *ctx.find("prefix_ids");
        input["chunk_ids"] = *ctx.find("chunk_ids");
        input["query_ids"] = *ctx.find("query_ids");
        input["query"] = "";
    }
    auto spec = ContextSpec::fromJson(input);
    ASSERT_TRUE(spec.ok()) << spec.error().describe();
    const bool hasPrefix = !ctx.find("prefix_ids")->asArray().empty();
    auto plan = session().plan(*spec, test::referenceOptions(*doc->find("options"), hasPrefix));
    ASSERT_TRUE(plan.ok()) << plan.error().describe();
    auto run = session().analyze(*plan);
    ASSERT_TRUE(run.ok()) << run.error().describe();
    const AnalysisResult& r = (*run)->stats;
    const Json& exp = *doc->find("expected");

    const auto& pos = exp.find("positions")->asArray();
    ASSERT_EQ(static_cast<int>(pos.size()), plan->tokenCount());
    for (std::size_t i = 0; i < pos.size(); ++i) ASSERT_EQ(pos[i].asInt(), plan->positions[i]) << "token " << i;

    const auto& qe = exp.find("query_entropy")->asArray();
    ASSERT_EQ(static_cast<int>(qe.size()), r.layers);
    double worst = 0;
    for (int l = 0; l < r.layers; ++l) {
        const auto& byHead = qe[static_cast<std::size_t>(l)].asArray();
        ASSERT_EQ(static_cast<int>(byHead.size()), r.heads);
        for (int h = 0; h < r.heads; ++h) {
            const auto& row = byHead[static_cast<std::size_t>(h)].asArray();
            ASSERT_EQ(static_cast<int>(row.size()), r.queries());
            for (int q = 0; q < r.queries(); ++q) {
                double d = std::fabs(row[static_cast<std::size_t>(q)].asNumber() - r.entropyAt(l, h, r.queryBegin + q));
                worst = std::max(worst, d);
                EXPECT_LE(d, 1e-3) << "entropy layer " << l << " head " << h << " query " << q;
            }
        }
    }
    const auto& nll = exp.find("query_nll_next")->asArray();
    const auto& am = exp.find("query_argmax_next")->asArray();
    ASSERT_EQ(static_cast<int>(nll.size()), r.queries());
    for (int q = 0; q < r.queries(); ++q) {
        if (nll[static_cast<std::size_t>(q)].isNull()) EXPECT_TRUE(std::isnan(r.nllNext[static_cast<std::size_t>(q)]));
        else EXPECT_NEAR(nll[static_cast<std::size_t>(q)].asNumber(), r.nllNext[static_cast<std::size_t>(q)], 1e-3) << "nll query " << q;
        EXPECT_EQ(am[static_cast<std::size_t>(q)].asInt(), r.argmaxNext[static_cast<std::size_t>(q)]) << "argmax query " << q;
    }
    ::testing::Test::RecordProperty("worst_entropy_error", std::to_string(worst));
}

}  // namespace

TEST(Reference, CasesExist) { EXPECT_GE(test::referenceCases().size(), 5u) << "reference folder: " << test::referenceDir(); }

TEST(Reference, AllCasesFromIds) {
    for (const auto& c : test::referenceCases()) checkCase(c, false);
}

TEST(Reference, AllCasesFromText) {
    for (const auto& c : test::referenceCases()) checkCase(c, true);
}

// Reusing the encoded context for a query-side toggle gives the same numbers as a fresh run.
TEST(Reference, QueryOnlyRerunMatchesFullRun) {
    for (const auto& c : test::referenceCases()) {
        auto doc = Json::parseFile(c);
        ASSERT_TRUE(doc.ok());
        if (doc->find("options")->find("select_top_k")->asInt() == 0) continue;
        const Json& ctx = *doc->find("context");
        Json input = Json::object();
        input["prefix_ids"] = *ctx.find("prefix_ids");
        input["chunk_ids"] = *ctx.find("chunk_ids");
        input["query_ids"] = *ctx.find("query_ids");
        auto spec = ContextSpec::fromJson(input);
        ASSERT_TRUE(spec.ok());
        EncodingOptions opt = test::referenceOptions(*doc->find("options"), !ctx.find("prefix_ids")->asArray().empty());
        EncodingOptions off = opt;
        off.selective.topK = 0;
        auto base = session().plan(*spec, off);
        ASSERT_TRUE(base.ok());
        RunRequest r0;
        r0.plan = &*base;
        auto first = session().run(r0);
        ASSERT_TRUE(first.ok());
        auto sel = session().plan(*spec, opt);
        RunRequest r1;
        r1.plan = &*sel;
        r1.reuse = first->kept;
        auto reused = session().run(r1);
        RunRequest r2;
        r2.plan = &*sel;
        auto fresh = session().run(r2);
        ASSERT_TRUE(reused.ok() && fresh.ok());
        EXPECT_TRUE(reused->stats.reusedContext);
        EXPECT_FALSE(fresh->stats.reusedContext);
        for (std::size_t i = 0; i < fresh->stats.entropy.size(); ++i)
            ASSERT_NEAR(fresh->stats.entropy[i], reused->stats.entropy[i], 1e-5);
        for (std::size_t i = 0; i < fresh->stats.chunkMass.size(); ++i)
            ASSERT_NEAR(fresh->stats.chunkMass[i], reused->stats.chunkMass[i], 1e-5);
    }
}
