#pragma once
// EngineWorker: the one engine thread of the app. It owns the Session (which is not
// thread-safe) and runs jobs one at a time, highest priority first.
//
// Every job has a tag. Submitting a job with a tag
//   - bumps that tag's generation,
//   - drops a queued job with the same tag (it would be stale before it started),
//   - requests a stop on the running job with the same tag (std::stop_source).
// A job runs on the engine thread and returns a "deliver" closure; the worker posts it to the
// GUI thread, where it runs only if the receiver still exists and the job's generation is still
// the tag's current one. Stale results are counted and dropped, never shown.
#include <QObject>
#include <QPointer>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>

class QThread;

namespace attnscope {
class Session;
}

namespace attnscope::gui {

// Lower value = higher priority. Interactive work first; the sweep last.
enum class JobTag : int {
    Model = 0,       // open a model (replaces the session)
    Analysis,        // the current configuration
    Tile,            // attention-map overview tile (the home window) at screen resolution
    TileDetail,      // attention-map tile for the zoomed window
    TokenAttention,  // attention rows for the context text view
    Methods,         // the five method configurations for the entropy-by-layer plot
    Sweep,           // P sweep
    Test,            // for tests and tools
    Count
};
const char* jobTagName(JobTag tag);

class EngineWorker;

// What a job sees on the engine thread.
struct EngineContext {
    std::unique_ptr<Session> session;  // null until a model is open
    quint64 sessionId = 0;             // bumped whenever `session` is replaced
    EngineWorker* worker = nullptr;

    // Reports progress (thread-safe; cheap: throttled by the worker).
    std::function<void(int done, int total)> progress;
    // Long jobs call this between steps: runs queued jobs of higher priority than the current
    // one (never a Model job) so interactive work does not wait behind a sweep.
    std::function<void()> yieldToInteractive;
    // Sends an intermediate result (e.g. one finished sweep step) to the GUI thread, under the
    // same receiver and generation checks as the final one.
    std::function<void(std::function<void()>)> post;
};

using Deliver = std::function<void()>;
using JobFn = std::function<Deliver(EngineContext&, std::stop_token)>;

class EngineWorker : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(QObject* parent = nullptr);
    ~EngineWorker() override;  // stops the running job, drops the queue, joins the thread

    // Queues `fn`; its deliver closure later runs on the GUI thread if `receiver` is alive and
    // the generation is still current. Returns the job's generation.
    quint64 submit(JobTag tag, QString label, QObject* receiver, JobFn fn);
    // Bumps the tag's generation without a new job: the running one is stopped, queued ones are
    // dropped, and anything already on its way back is discarded.
    void cancel(JobTag tag);
    // Drops queued jobs with this tag and requests a stop on the running one, without bumping
    // the generation: a job that finished its work before seeing the stop still delivers it
    // (a model load past the point where it replaced the session must be shown).
    void stop(JobTag tag);

    quint64 generation(JobTag tag) const;
    bool isCurrent(JobTag tag, quint64 generation) const { return this->generation(tag) == generation; }
    // Results that arrived after a newer request with the same tag (dropped).
    int staleDropped() const { return staleDropped_; }
    // Jobs whose run was stopped by a newer request or cancel().
    int stopsRequested() const { return stopsRequested_.load(); }
    bool busy() const;

signals:
    // All emitted from the engine thread, received queued on the GUI thread.
    void jobStarted(int tag, quint64 generation, const QString& label);
    void jobProgress(int tag, quint64 generation, int done, int total);
    void jobFinished(int tag, quint64 generation);

private:
    struct Job {
        JobTag tag;
        quint64 generation;
        QString label;
        QPointer<QObject> receiver;  // read on the GUI thread only
        JobFn fn;
    };
    struct Running {
        JobTag tag;
        quint64 generation;
        std::stop_source stop;
    };

    void stopLocked(JobTag tag);  // with mutex_ held
    void loop();
    bool popJob(Job& out, int minPriority, int maxPriorityExclusive, bool wait);
    void runJob(Job& job);
    void deliver(JobTag tag, quint64 generation, QPointer<QObject> receiver, Deliver d);

    QThread* thread_ = nullptr;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    std::vector<Running*> running_;  // stack: nested runs from yieldToInteractive
    bool quit_ = false;
    std::atomic<quint64> generations_[static_cast<int>(JobTag::Count)] = {};
    std::atomic<int> stopsRequested_{0};
    int staleDropped_ = 0;  // GUI thread only
    EngineContext ctx_;     // engine thread only (after construction)
};

}  // namespace attnscope::gui
