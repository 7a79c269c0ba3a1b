#pragma once
// The two non-interactive ways to run the app: headless figure export and the toggle benchmark.
#include <QList>
#include <QString>

namespace attnscope::gui {

struct StartupOptions;

// `attnscope --model M --context C.json [method options] --export-figures DIR`: renders every
// view to DIR without showing a window. Returns 0, or 2 after printing one line to stderr.
int runHeadlessExport(const StartupOptions& options);

// `attnscope --lesson FILE --export-lesson OUT.pdf`: the lesson's handout, one page per step,
// without showing a window. Returns 0, or 2 after printing one line to stderr.
int runLessonExport(const StartupOptions& options);

// `attnscope --bench-toggles [N]`: loads the demo (or the given files), then toggles sink N times
// and selective attention N times, timing each toggle until every view has repainted with the
// new result. Prints the median (and the parts) to stdout. Returns 0, or 2 on error.
int runToggleBench(const StartupOptions& options);

struct BenchResult {
    QString error;                      // empty on success
    QList<double> sinkMs, selectiveMs;  // toggle → every view repainted
    QList<double> resultMs;             // toggle → every view has the new data (before painting)
    double medianMs = 0;
    int tokens = 0;
    QString model, backend;
};
BenchResult measureToggles(const StartupOptions& options, int toggles, bool showWindow = true);

}  // namespace attnscope::gui
