// Opening a model can be stopped: a stop requested before or during Session::open ends it with a
// Cancelled error naming the model, within half a second, for GGUF files and Hugging Face folders.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stop_token>
#include <thread>

#include "common/large_vocab_model.h"
#include "common/model_writers.h"
#include "model/model_loader.h"
#include "session/session.h"

using namespace attnscope;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

SessionOptions cpuOptions() {
    SessionOptions o;
    o.device = "cpu";
    o.threads = 1;
    return o;
}

// A small model with a 262,144-piece vocabulary: it opens about as slowly as Gemma 3 270M (the
// vocabulary dominates; a random 110M-parameter model without one opens in under a millisecond,
// its weights being memory-mapped).
const std::string& largeVocabModel() {
    static const std::string path = [] {
        static const test::TempDir dir("open-vocab");
        const std::string p = dir.file("large-vocab.gguf");
        auto written = test::writeLargeVocabGguf(p);
        if (!written) ADD_FAILURE() << written.error().describe();
        return p;
    }();
    return path;
}

void expectCancelled(const Result<std::unique_ptr<Session>>& opened, const std::string& names) {
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().kind, ErrorKind::Cancelled) << opened.error().describe();
    EXPECT_NE(opened.error().describe().find(names), std::string::npos) << opened.error().describe();
}

}  // namespace

TEST(SessionOpen, StopRequestedBeforehandCancelsAGgufFile) {
    largeVocabModel();  // written before the clock starts
    std::stop_source stop;
    stop.request_stop();
    const auto t = Clock::now();
    auto opened = Session::open(largeVocabModel(), cpuOptions(), {}, stop.get_token());
    expectCancelled(opened, "large-vocab.gguf");
    EXPECT_LT(secondsSince(t), 0.5);
}

TEST(SessionOpen, StopRequestedBeforehandCancelsAHuggingFaceFolder) {
    if (test::testModelsDir().empty()) GTEST_SKIP() << "no models folder";
    auto model = loadModel(test::testModelsDir() + "/stories260K.gguf");
    ASSERT_TRUE(model.ok()) << model.error().describe();
    const test::TempDir scratch("open-hf");
    const std::string dir = scratch.file("stories-hf");
    auto written = test::writeHfFolderFromModel(**model, dir);
    ASSERT_TRUE(written.ok()) << written.error().describe();
    ASSERT_TRUE(Session::open(dir, cpuOptions()).ok());  // the folder opens when not stopped
    std::stop_source stop;
    stop.request_stop();
    expectCancelled(Session::open(dir, cpuOptions(), {}, stop.get_token()), "stories-hf");
}

// A stop from another thread at several moments of the open: whenever it lands before the open
// has returned, the open ends with Cancelled within 0.5 s of the request (well within: the
// tokenizer build, the slow part, is waited for in 5 ms steps).
TEST(SessionOpen, StopDuringTheOpenOfALargeVocabularyTakesEffectWithinHalfASecond) {
    const auto t0 = Clock::now();
    auto whole = Session::open(largeVocabModel(), cpuOptions());
    const double openSeconds = secondsSince(t0);
    ASSERT_TRUE(whole.ok()) << whole.error().describe();
    whole->reset();
    std::printf("open of the 262,144-piece vocabulary model, not stopped: %.1f ms\n", openSeconds * 1e3);
    double worst = 0;
    int cancelled = 0;
    for (double fraction : {0.0, 0.1, 0.25, 0.5, 0.75}) {
        std::stop_source stop;
        Clock::time_point requested{};
        std::jthread stopper([&] {
            std::this_thread::sleep_for(std::chrono::duration<double>(openSeconds * fraction));
            requested = Clock::now();
            stop.request_stop();
        });
        auto opened = Session::open(largeVocabModel(), cpuOptions(), {}, stop.get_token());
        const auto returned = Clock::now();
        stopper.join();
        if (opened.ok()) continue;  // finished before the stop arrived
        expectCancelled(opened, "large-vocab.gguf");
        const double latency = std::max(0.0, std::chrono::duration<double>(returned - requested).count());
        std::printf("stop at %.0f%% of the open: returned Cancelled %.2f ms after the request\n", fraction * 100,
                    latency * 1e3);
        worst = std::max(worst, latency);
        ++cancelled;
    }
    EXPECT_GE(cancelled, 2);  // the stops at 0% and 10% land during the open
    EXPECT_LT(worst, 0.5);
}
