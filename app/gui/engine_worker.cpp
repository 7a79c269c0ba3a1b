#include "engine_worker.h"

#include <QLoggingCategory>
#include <QThread>

#include <chrono>
#include <exception>

#include "session/session.h"

// QT_LOGGING_RULES="attnscope.engine.debug=true" prints every job with its duration.
Q_LOGGING_CATEGORY(lcEngine, "attnscope.engine", QtWarningMsg)

namespace attnscope::gui {

const char* jobTagName(JobTag tag) {
    switch (tag) {
        case JobTag::Model: return "model";
        case JobTag::Analysis: return "analysis";
        case JobTag::Tile: return "tile";
        case JobTag::TileDetail: return "tile-detail";
        case JobTag::TokenAttention: return "token-attention";
        case JobTag::Methods: return "methods";
        case JobTag::Sweep: return "sweep";
        case JobTag::Test: return "test";
        case JobTag::Count: break;
    }
    return "?";
}

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {
    ctx_.worker = this;
    thread_ = QThread::create([this] { loop(); });
    thread_->setObjectName(QStringLiteral("attnscope-engine"));
    thread_->start();
}

EngineWorker::~EngineWorker() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
        queue_.clear();
        for (Running* r : running_) r->stop.request_stop();
    }
    wake_.notify_all();
    thread_->wait();
    delete thread_;
}

quint64 EngineWorker::generation(JobTag tag) const { return generations_[static_cast<int>(tag)].load(); }

bool EngineWorker::busy() const {
    std::lock_guard lock(mutex_);
    return !queue_.empty() || !running_.empty();
}

quint64 EngineWorker::submit(JobTag tag, QString label, QObject* receiver, JobFn fn) {
    quint64 gen = 0;
    {
        std::lock_guard lock(mutex_);
        gen = ++generations_[static_cast<int>(tag)];
        stopLocked(tag);
        queue_.push_back(Job{tag, gen, std::move(label), QPointer<QObject>(receiver), std::move(fn)});
    }
    wake_.notify_one();
    return gen;
}

void EngineWorker::cancel(JobTag tag) {
    std::lock_guard lock(mutex_);
    ++generations_[static_cast<int>(tag)];
    stopLocked(tag);
}

void EngineWorker::stop(JobTag tag) {
    std::lock_guard lock(mutex_);
    stopLocked(tag);
}

void EngineWorker::stopLocked(JobTag tag) {
    std::erase_if(queue_, [tag](const Job& j) { return j.tag == tag; });
    for (Running* r : running_)
        if (r->tag == tag && r->stop.request_stop()) ++stopsRequested_;
}

// Takes the highest-priority queued job with priority in [minPriority, maxPriorityExclusive).
bool EngineWorker::popJob(Job& out, int minPriority, int maxPriorityExclusive, bool wait) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (quit_) return false;
        auto best = queue_.end();
        for (auto it = queue_.begin(); it != queue_.end(); ++it) {
            int p = static_cast<int>(it->tag);
            if (p < minPriority || p >= maxPriorityExclusive) continue;
            if (best == queue_.end() || p < static_cast<int>(best->tag)) best = it;
        }
        if (best != queue_.end()) {
            out = std::move(*best);
            queue_.erase(best);
            return true;
        }
        if (!wait) return false;
        wake_.wait(lock);
    }
}

void EngineWorker::loop() {
    ctx_.yieldToInteractive = [this] {
        int current = 0;
        {
            std::lock_guard lock(mutex_);
            if (running_.empty()) return;
            current = static_cast<int>(running_.back()->tag);
        }
        Job job;
        // Never a Model job: it would replace the session under the running job.
        while (popJob(job, static_cast<int>(JobTag::Model) + 1, current, false)) runJob(job);
    };
    Job job;
    while (popJob(job, 0, static_cast<int>(JobTag::Count), true)) runJob(job);
    ctx_.session.reset();  // the session lives and dies on the engine thread
}

void EngineWorker::runJob(Job& job) {
    Running running{job.tag, job.generation, {}};
    {
        std::lock_guard lock(mutex_);
        if (quit_) return;
        // Submitted and superseded before it started: skip.
        if (generations_[static_cast<int>(job.tag)].load() != job.generation) return;
        running_.push_back(&running);
    }
    const int tag = static_cast<int>(job.tag);
    emit jobStarted(tag, job.generation, job.label);

    auto savedProgress = ctx_.progress;
    auto savedPost = ctx_.post;
    ctx_.post = [this, &job](Deliver d) { deliver(job.tag, job.generation, job.receiver, std::move(d)); };
    auto lastEmit = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    ctx_.progress = [&, tag](int done, int total) {
        auto now = std::chrono::steady_clock::now();
        if (done < total && now - lastEmit < std::chrono::milliseconds(40)) return;
        lastEmit = now;
        emit jobProgress(tag, job.generation, done, total);
    };

    Deliver d;
    const auto started = std::chrono::steady_clock::now();
    try {
        d = job.fn(ctx_, running.stop.get_token());
    } catch (const std::exception& e) {
        // Jobs report errors as values; this is a last line of defence, not a code path.
        qWarning("attnscope: %s job failed: %s", jobTagName(job.tag), e.what());
    } catch (...) {
        qWarning("attnscope: %s job failed", jobTagName(job.tag));
    }
    qCDebug(lcEngine, "%s job %llu (%s): %.1f ms%s", jobTagName(job.tag),
            static_cast<unsigned long long>(job.generation), qUtf8Printable(job.label),
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count(),
            running.stop.stop_requested() ? ", stopped" : "");
    ctx_.progress = std::move(savedProgress);
    ctx_.post = std::move(savedPost);
    {
        std::lock_guard lock(mutex_);
        std::erase(running_, &running);
    }
    emit jobFinished(tag, job.generation);
    if (d) deliver(job.tag, job.generation, job.receiver, std::move(d));
}

void EngineWorker::deliver(JobTag tag, quint64 generation, QPointer<QObject> receiver, Deliver d) {
    // Posted to this object (alive until the thread is joined); the receiver is checked on the
    // GUI thread, where it lives.
    QMetaObject::invokeMethod(
        this,
        [this, tag, generation, receiver = std::move(receiver), d = std::move(d)] {
            if (!receiver) return;
            if (!isCurrent(tag, generation)) {
                ++staleDropped_;
                return;
            }
            d();
        },
        Qt::QueuedConnection);
}

}  // namespace attnscope::gui
