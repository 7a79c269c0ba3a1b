// The P sweep on the bundled stories260K model and a short story: the paper's trend must show
// (parallel entropy rises with P; selective attention brings it back down), P=1 parallel equals
// full attention, and full attention does not depend on P.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "session/sweep.h"
#include "core/json.h"
#include "session/session.h"

using namespace attnscope;

namespace {
std::string storyPath() {
    const char* d = std::getenv("ATTNSCOPE_TEST_DATA");
    return std::string(d ? d : "tests/data") + "/../../resources/examples/lily_story.txt";
}
const SweepRow& row(const std::vector<SweepRow>& rows, Method m, int p) {
    for (const auto& r : rows)
        if (r.method == m && r.parts == p) return r;
    throw std::runtime_error("missing row");
}
}  // namespace

TEST(Sweep, ShowsThePapersTrendOnStories260K) {
    SessionOptions so;
    so.device = "cpu";
    auto s = Session::open("stories260K.gguf", so);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    auto text = readFile(storyPath());
    ASSERT_TRUE(text.ok()) << text.error().describe();
    SweepOptions o;
    o.queryTokens = 64;
    o.parts = {1, 2, 4, 8, 16};
    auto rows = runSweep(**s, *text, o);
    ASSERT_TRUE(rows.ok()) << rows.error().describe();
    ASSERT_EQ(rows->size(), 25u);

    const double full = row(*rows, Method::Full, 1).meanEntropy;
    EXPECT_NEAR(row(*rows, Method::Parallel, 1).meanEntropy, full, 1e-4);
    EXPECT_NEAR(row(*rows, Method::Parallel, 1).perplexity, row(*rows, Method::Full, 1).perplexity, 1e-3);
    for (int p : {2, 4, 8, 16}) EXPECT_EQ(row(*rows, Method::Full, p).meanEntropy, full);
    // Parallel encoding spreads the query's attention: entropy rises with every doubling of P.
    double prev = full;
    for (int p : {2, 4, 8, 16}) {
        double h = row(*rows, Method::Parallel, p).meanEntropy;
        EXPECT_GT(h, prev) << "P=" << p;
        prev = h;
    }
    EXPECT_GT(row(*rows, Method::Parallel, 16).meanEntropy, full + 0.3);
    // Selective attention (K=2) lowers it again, below naive parallel and below full at P=16.
    for (int p : {4, 8, 16})
        EXPECT_LT(row(*rows, Method::Selective, p).meanEntropy, row(*rows, Method::Parallel, p).meanEntropy) << p;
    EXPECT_LT(row(*rows, Method::Selective, 16).meanEntropy, full);
    EXPECT_LT(row(*rows, Method::Both, 16).meanEntropy, row(*rows, Method::Sink, 16).meanEntropy);

    auto j = sweepToJson(*rows);
    EXPECT_EQ(j.find("rows")->size(), 25u);
    EXPECT_NE(sweepToCsv(*rows).find("selective,16,"), std::string::npos);
}

TEST(Sweep, RejectsTooShortTexts) {
    SessionOptions so;
    so.device = "cpu";
    auto s = Session::open("stories260K.gguf", so);
    ASSERT_TRUE(s.ok());
    SweepOptions o;
    o.queryTokens = 8;
    o.parts = {64};
    auto rows = runSweep(**s, "Once upon a time there was a cat.", o);
    ASSERT_FALSE(rows.ok());
    EXPECT_NE(rows.error().message.find("too few"), std::string::npos);
}

// Full attention sees the same tokens as the sink method (plan/method.h): with a sink text that
// is not part of the text, the full row at P = 1 equals the sink row at P = 1 (one chunk,
// positions as in full attention), and differs from plain parallel encoding without the sink.
TEST(Sweep, FullAttentionSeesTheSinkText) {
    SessionOptions so;
    so.device = "cpu";
    auto s = Session::open("stories260K.gguf", so);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    auto text = readFile(storyPath());
    ASSERT_TRUE(text.ok());
    SweepOptions o;
    o.queryTokens = 32;
    o.parts = {1};
    o.sinkText = "Once upon a time";
    auto rows = runSweep(**s, *text, o);
    ASSERT_TRUE(rows.ok()) << rows.error().describe();
    EXPECT_NEAR(row(*rows, Method::Full, 1).meanEntropy, row(*rows, Method::Sink, 1).meanEntropy, 1e-5);
    EXPECT_NEAR(row(*rows, Method::Full, 1).perplexity, row(*rows, Method::Sink, 1).perplexity, 1e-4);
    EXPECT_GT(std::abs(row(*rows, Method::Full, 1).meanEntropy - row(*rows, Method::Parallel, 1).meanEntropy), 1e-4);
}

// The options' own errors come before the text is read: a negative sink token count is one.
TEST(Sweep, NegativeSinkTokensIsAnInputError) {
    SweepOptions o;
    o.sinkTokens = -1;
    auto r = validateSweepOptions(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidInput);
    EXPECT_EQ(r.error().message, "the sink token count must be 0 or more (got -1)");
    SessionOptions so;
    so.device = "cpu";
    auto s = Session::open("stories260K.gguf", so);
    ASSERT_TRUE(s.ok());
    auto rows = runSweep(**s, "Once upon a time there was a cat.", o);
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.error().kind, ErrorKind::InvalidInput);
}
