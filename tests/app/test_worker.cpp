// EngineWorker: a new request with the same tag stops the running one and replaces queued ones;
// results that arrive after a newer request are dropped; delivery needs a live receiver;
// interactive work runs while a long job yields.
#include <QSignalSpy>
#include <QTest>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine_worker.h"

using namespace attnscope::gui;
using namespace std::chrono_literals;

namespace {

// Spins the event loop until `pred` holds or `ms` pass.
template <typename Pred>
bool waitFor(Pred pred, int ms = 5000) {
    return QTest::qWaitFor(pred, ms);
}

}  // namespace

class WorkerTest : public QObject {
    Q_OBJECT
private slots:
    void newRequestStopsRunningOne();
    void staleResultIsDropped();
    void queuedRequestsAreReplaced();
    void deadReceiverGetsNothing();
    void cancelStopsAndDrops();
    void interactiveJobsRunWhileLongJobYields();
};

void WorkerTest::newRequestStopsRunningOne() {
    EngineWorker worker;
    QObject receiver;
    std::atomic<bool> firstStarted{false}, firstSawStop{false};
    int delivered = 0, firstDelivered = 0;

    worker.submit(JobTag::Test, QStringLiteral("first"), &receiver, [&](EngineContext&, std::stop_token stop) -> Deliver {
        firstStarted = true;
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (!stop.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
        firstSawStop = stop.stop_requested();
        return [&] { ++firstDelivered; };
    });
    QVERIFY(waitFor([&] { return firstStarted.load(); }));
    const quint64 gen = worker.submit(JobTag::Test, QStringLiteral("second"), &receiver,
                                      [&](EngineContext&, std::stop_token) -> Deliver { return [&] { ++delivered; }; });
    QVERIFY(waitFor([&] { return delivered == 1; }));
    QVERIFY(firstSawStop.load());        // stopped, not left to finish its 5 s
    QCOMPARE(firstDelivered, 0);         // its result never reached the GUI
    QCOMPARE(worker.stopsRequested(), 1);
    QCOMPARE(worker.generation(JobTag::Test), gen);
}

void WorkerTest::staleResultIsDropped() {
    EngineWorker worker;
    QObject receiver;
    std::atomic<bool> started{false};
    QList<int> got;
    // A job that ignores its stop token and finishes after a newer request was made.
    worker.submit(JobTag::Test, QStringLiteral("slow"), &receiver, [&](EngineContext&, std::stop_token) -> Deliver {
        started = true;
        std::this_thread::sleep_for(150ms);
        return [&] { got << 1; };
    });
    QVERIFY(waitFor([&] { return started.load(); }));
    worker.submit(JobTag::Test, QStringLiteral("fast"), &receiver,
                  [&](EngineContext&, std::stop_token) -> Deliver { return [&] { got << 2; }; });
    QVERIFY(waitFor([&] { return got.contains(2); }));
    QVERIFY(waitFor([&] { return worker.staleDropped() == 1; }));
    QTest::qWait(50);
    QCOMPARE(got, QList<int>{2});
}

void WorkerTest::queuedRequestsAreReplaced() {
    EngineWorker worker;
    QObject receiver;
    std::atomic<bool> release{false}, blockerStarted{false};
    std::atomic<int> runs{0};
    QList<int> got;
    // Keep the engine thread busy with another tag so the Test jobs queue up.
    worker.submit(JobTag::Sweep, QStringLiteral("blocker"), &receiver, [&](EngineContext&, std::stop_token) -> Deliver {
        blockerStarted = true;
        while (!release) std::this_thread::sleep_for(1ms);
        return {};
    });
    QVERIFY(waitFor([&] { return blockerStarted.load(); }));
    for (int i = 1; i <= 3; ++i)
        worker.submit(JobTag::Test, QStringLiteral("job"), &receiver, [&, i](EngineContext&, std::stop_token) -> Deliver {
            ++runs;
            return [&, i] { got << i; };
        });
    release = true;
    QVERIFY(waitFor([&] { return !got.isEmpty(); }));
    QTest::qWait(50);
    QCOMPARE(runs.load(), 1);   // the two older requests never ran
    QCOMPARE(got, QList<int>{3});
}

void WorkerTest::deadReceiverGetsNothing() {
    EngineWorker worker;
    auto* receiver = new QObject;
    std::atomic<bool> started{false}, release{false};
    bool delivered = false;
    worker.submit(JobTag::Test, QStringLiteral("job"), receiver, [&](EngineContext&, std::stop_token) -> Deliver {
        started = true;
        while (!release) std::this_thread::sleep_for(1ms);
        return [&] { delivered = true; };
    });
    QVERIFY(waitFor([&] { return started.load(); }));
    delete receiver;   // e.g. a view closed while the engine worked for it
    release = true;
    QVERIFY(waitFor([&] { return !worker.busy(); }));
    QTest::qWait(50);
    QVERIFY(!delivered);
}

void WorkerTest::cancelStopsAndDrops() {
    EngineWorker worker;
    QObject receiver;
    std::atomic<bool> started{false}, sawStop{false};
    bool delivered = false;
    worker.submit(JobTag::Test, QStringLiteral("job"), &receiver, [&](EngineContext&, std::stop_token stop) -> Deliver {
        started = true;
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (!stop.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
        sawStop = stop.stop_requested();
        return [&] { delivered = true; };
    });
    QVERIFY(waitFor([&] { return started.load(); }));
    QElapsedTimer t;
    t.start();
    worker.cancel(JobTag::Test);
    QVERIFY(waitFor([&] { return !worker.busy(); }));
    QVERIFY(t.elapsed() < 2000);
    QVERIFY(sawStop.load());
    QTest::qWait(50);
    QVERIFY(!delivered);
}

void WorkerTest::interactiveJobsRunWhileLongJobYields() {
    EngineWorker worker;
    QObject receiver;
    std::atomic<bool> longStarted{false}, interactiveRan{false}, longFinished{false};
    std::atomic<bool> interactiveBeforeLongEnd{false};
    worker.submit(JobTag::Sweep, QStringLiteral("long"), &receiver, [&](EngineContext& ctx, std::stop_token) -> Deliver {
        longStarted = true;
        for (int step = 0; step < 200 && !interactiveRan; ++step) {
            std::this_thread::sleep_for(2ms);
            ctx.yieldToInteractive();
        }
        interactiveBeforeLongEnd = interactiveRan.load();
        longFinished = true;
        return {};
    });
    QVERIFY(waitFor([&] { return longStarted.load(); }));
    worker.submit(JobTag::Analysis, QStringLiteral("toggle"), &receiver, [&](EngineContext&, std::stop_token) -> Deliver {
        interactiveRan = true;
        return {};
    });
    QVERIFY(waitFor([&] { return longFinished.load(); }));
    QVERIFY(interactiveBeforeLongEnd.load());
}

QTEST_MAIN(WorkerTest)
#include "test_worker.moc"
