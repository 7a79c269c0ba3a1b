#include "app_runner.h"

#include <QAction>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <cstdio>

#include "analysis_controller.h"
#include "lesson_handout.h"
#include "lesson_player.h"
#include "main_window.h"
#include "startup_options.h"

namespace attnscope::gui {

namespace {

constexpr int kLoadTimeoutMs = 300000;  // model load + first analysis on a slow machine

int failLine(const QString& message) {
    QString line = message.simplified();  // exactly one line
    std::fprintf(stderr, "attnscope: %s\n", qUtf8Printable(line));
    return 2;
}

double median(QList<double> v) {
    if (v.isEmpty()) return 0;
    std::sort(v.begin(), v.end());
    const qsizetype n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int runHeadlessExport(const StartupOptions& options) {
    MainWindow w(MainWindow::Mode::Headless);
    // Laid out like a real window (views size their ticks and labels from it), never on screen.
    w.setAttribute(Qt::WA_DontShowOnScreen);
    w.show();
    QString error;
    if (!w.start(options, &error)) return failLine(error);
    if (!w.waitForSettled(kLoadTimeoutMs, true)) {
        const QString e = w.lastError();
        return failLine(e.isEmpty() ? QStringLiteral("timed out waiting for the analysis") : e);
    }
    AnalysisController* c = w.controller();
    if (options.sweep) {
        c->runSweep(w.sessionState().sweep);
        if (!w.waitForSettled(kLoadTimeoutMs, true))
            return failLine(QStringLiteral("timed out waiting for the P sweep"));
        if (c->sweepRows().empty())
            std::fprintf(stderr, "attnscope: note: the P sweep produced no rows; its figure is left out\n");
    }
    if (!w.exportFigureSet(options.exportDir, &error, options.pngScale, true)) return failLine(error);
    std::printf("attnscope: wrote the figure set for %s (%s) to %s\n",
                qUtf8Printable(QFileInfo(c->model().path).fileName()),
                qUtf8Printable(methodLabel(c->method(), c->model().slidingWindow)),
                qUtf8Printable(QDir(options.exportDir).absolutePath()));
    return 0;
}

int runLessonExport(const StartupOptions& options) {
    MainWindow w(MainWindow::Mode::Headless);
    w.setAttribute(Qt::WA_DontShowOnScreen);
    w.resize(1280, 720);  // a projector's window: the views lay out as the class sees them
    w.show();
    QString error;
    if (!w.start(options, &error)) return failLine(error);
    if (!writeLessonHandout(w, options.exportLesson, kLoadTimeoutMs, &error)) return failLine(error);
    std::printf("attnscope: wrote the handout of %s (%lld pages) to %s\n", qUtf8Printable(options.lesson),
                static_cast<long long>(w.lessonPlayer()->lesson().steps.size()),
                qUtf8Printable(QFileInfo(options.exportLesson).absoluteFilePath()));
    return 0;
}

BenchResult measureToggles(const StartupOptions& options, int toggles, bool showWindow) {
    BenchResult out;
    MainWindow w(MainWindow::Mode::Headless);
    QString error;
    if (!w.start(options, &error)) {
        out.error = error;
        return out;
    }
    if (showWindow) w.show();
    if (!w.waitForSettled(kLoadTimeoutMs, true)) {
        out.error =
            w.lastError().isEmpty() ? QStringLiteral("timed out waiting for the first analysis") : w.lastError();
        return out;
    }
    AnalysisController* c = w.controller();
    out.model = QFileInfo(c->model().path).fileName();
    out.backend = c->model().backend;
    out.tokens = c->current() ? c->current()->plan.tokenCount() : 0;

    // One toggle: trigger the action as a click would, wait until every view shows the new
    // result (attention-map tile and token shading included), then paint the whole window.
    auto timeToggle = [&](QAction* action, double* ms) {
        QCoreApplication::processEvents();
        QElapsedTimer t;
        t.start();
        action->trigger();
        if (!w.waitForSettled(60000)) return false;
        out.resultMs << t.nsecsElapsed() / 1e6;  // every view has the new data
        QCoreApplication::processEvents();       // queued replots
        if (showWindow) w.grab();                // paint the whole window
        *ms = t.nsecsElapsed() / 1e6;
        return true;
    };
    const struct {
        QAction* action;
        const char* name;
        QList<double>& times;
    } kinds[] = {{w.sinkAction(), "sink", out.sinkMs}, {w.selectiveAction(), "selective", out.selectiveMs}};
    for (const auto& kind : kinds)
        for (int i = 0; i < toggles; ++i) {
            double ms = 0;
            if (!timeToggle(kind.action, &ms)) {
                out.error =
                    QStringLiteral("a %1 toggle did not settle: %2").arg(QLatin1String(kind.name), w.lastError());
                return out;
            }
            kind.times << ms;
        }
    out.medianMs = median(out.sinkMs + out.selectiveMs);
    return out;
}

int runToggleBench(const StartupOptions& options) {
    const BenchResult r = measureToggles(options, options.benchToggles, true);
    if (!r.error.isEmpty()) return failLine(r.error);
    const auto all = r.sinkMs + r.selectiveMs;
    std::printf("toggle-to-repaint median: %.1f ms over %lld toggles (target < 100 ms)\n", r.medianMs,
                static_cast<long long>(all.size()));
    std::printf("  sink:      median %.1f ms, first %.1f ms, max %.1f ms\n", median(r.sinkMs), r.sinkMs.value(0),
                *std::max_element(r.sinkMs.begin(), r.sinkMs.end()));
    std::printf("  selective: median %.1f ms, first %.1f ms, max %.1f ms\n", median(r.selectiveMs),
                r.selectiveMs.value(0), *std::max_element(r.selectiveMs.begin(), r.selectiveMs.end()));
    std::printf("  of which new data in every view: median %.1f ms; the rest is replotting and painting\n",
                median(r.resultMs));
    std::printf("  model %s, %d tokens, backend %s\n", qUtf8Printable(r.model), r.tokens, qUtf8Printable(r.backend));
    return 0;
}

}  // namespace attnscope::gui
