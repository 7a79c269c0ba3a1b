#pragma once
// The handout of a lesson: a PDF with one page per step — the step's enlarged view as a vector
// figure, its caption (numbers filled from the result of that step) and the method line.
#include <QString>

namespace attnscope::gui {

class MainWindow;

// Walks `window`'s running lesson from its first step, waiting at each for its result (and the
// P sweep where the step shows it), and writes the PDF to `path` atomically. False with
// "path: reason" in *error.
bool writeLessonHandout(MainWindow& window, const QString& path, int timeoutMs, QString* error);

}  // namespace attnscope::gui
