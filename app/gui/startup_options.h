#pragma once
// Command line of the `attnscope` GUI:
//   attnscope [FILE]                       open a session, context (.json/.txt) or model
//   --model M --context C.json             model (path, or a file name in the models folder)
//   --session S                            a saved session
//   --mode full|parallel --sink on|off --select K (0 = off) --score-top-n N
//   --aggregation none|heads-queries --positions stretch|restart|sequential
//   --window-rule physical|position
//   --bos none|shared|per-chunk --layer L --head H (-1 = mean)
//   --export-figures DIR [--png-scale S] [--no-sweep]   render every view to files, no window
//   --bench-toggles [N]                    toggle-to-repaint latency on the demo
//   --presentation                         start in presentation mode (larger fonts)
//   --lesson FILE                          run a lesson (presentation mode, one step at a time)
//   --lesson FILE --export-lesson OUT.pdf  write the lesson's handout, one page per step, no window
#include <QString>
#include <QStringList>

#include <optional>

#include "app_state.h"

class QCommandLineParser;

namespace attnscope::gui {

struct StartupOptions {
    QString file;  // positional argument
    QString model;
    QString context;
    QString session;

    std::optional<EncodingMode> mode;
    std::optional<bool> sink;
    std::optional<int> select;  // 0 = off
    std::optional<int> scoreTopN;
    std::optional<SelectAggregation> aggregation;
    std::optional<PositionPolicy> positions;
    std::optional<WindowRule> windowRule;
    std::optional<BosPolicy> bos;
    std::optional<int> layer;
    std::optional<int> head;

    QString exportDir;  // non-empty: headless export
    double pngScale = 2.0;
    bool sweep = true;     // headless export runs the P sweep too
    int benchToggles = 0;  // > 0: run the toggle benchmark with this many toggles of each kind
    bool presentation = false;
    QString lesson;        // a lesson file to run
    QString exportLesson;  // non-empty: write the lesson's handout (PDF) here, headless

    bool headless() const { return !exportDir.isEmpty() || !exportLesson.isEmpty(); }
    // Applies the method/selection overrides on top of `method` / `selection`.
    void applyTo(MethodSettings& method, ViewSelection& selection) const;
};

// QGuiApplication takes "-session ID" and "--session ID" (X11 session management) out of the
// arguments before the app sees them, so --session FILE is read from argv first, before the
// QApplication exists, and removed there. Returns the file (empty when absent); *missingValue is
// set when --session ends the command line.
QString takeSessionArgument(int& argc, char** argv, bool* missingValue);
// `--bench-toggles` may come without N: inserts the default (20) so the parser sees a value.
QStringList normalizeArguments(QStringList arguments);
// Adds the options to `parser` (also --help and --version).
void addStartupOptions(QCommandLineParser& parser);
// Reads them after parser.process()/parse(). Returns nullopt with a one-line message on bad input.
std::optional<StartupOptions> readStartupOptions(const QCommandLineParser& parser, QString* error);
// Convenience for tests: parse `arguments` (argv[0] first).
std::optional<StartupOptions> parseStartupOptions(const QStringList& arguments, QString* error);

}  // namespace attnscope::gui
