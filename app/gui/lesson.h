#pragma once
// Lessons: a guided walk through the views, one step at a time, for teaching. Pure logic (no
// widgets): reading and writing lesson files, and filling a caption's placeholders with the
// numbers of the current result. The window applies a step (lesson_player.h).
//
// {
//   "format": "attnscope-lesson", "version": 1,
//   "title": "Parallel context encoding, step by step",
//   "context": "../demo_context.json",              (a context file, relative to the lesson, or
//                                                    the context itself as an object)
//   "steps": [
//     {"context": …,                                  (optional: the lesson's context otherwise)
//      "method": {"mode": "full", "sink": true, "selective": false, "select_k": 2, "bos": "none"},
//      "layer": 0, "head": -1,                        (-1: mean of heads)
//      "view": "entropy_by_layer",                    (the view shown enlarged)
//      "highlight": {"query_token": 3} | {"chunk": 1} (optional)
//      "caption": "Full attention: the query's entropy is {query_entropy} nats."}
//   ]
// }
//
// A caption is 1–3 sentences. Its numbers are never written in the file: placeholders such as
// {query_entropy} are filled from the result on screen, so a lesson stays true for any model.
#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

#include "app_state.h"

namespace attnscope::gui {

inline constexpr const char* kLessonFormat = "attnscope-lesson";
inline constexpr int kLessonVersion = 1;

struct LessonStep {
    ContextSpec context;  // resolved (from the step, else the lesson)
    QString contextRef;   // the step's context file as written; empty: inline or the lesson's
    bool ownContext = false;
    MethodSettings method;
    int layer = 0;
    int head = -1;
    QString view;             // panel key (analysis_views.h): the view shown enlarged
    int highlightQuery = -1;  // query token q highlighted (selected); -1: none
    int highlightChunk = -1;  // chunk highlighted; -1: none
    QString caption;          // with placeholders
};
bool operator==(const LessonStep& a, const LessonStep& b);

struct Lesson {
    QString title;
    ContextSpec context;  // the lesson's context (steps without their own use it)
    QString contextRef;   // as written; empty when inline
    QList<LessonStep> steps;
};

// Chunks in a context (given as text or as ids).
int chunkCountOf(const ContextSpec& context);
// The views a step may enlarge (the panel keys).
QStringList lessonViews();
// The placeholders a caption may hold, each with what it stands for.
const QList<std::pair<QString, QString>>& captionPlaceholders();
// Placeholders in `caption` ("{name}") that are not known; empty when all are.
QStringList unknownPlaceholders(const QString& caption);
// Sentences in `caption` (ends at . ! ? followed by a space or the end; at least 1 if not empty).
int sentenceCount(const QString& caption);
// `caption` with every {name} replaced by values[name]; a name without a value becomes "…".
QString fillCaption(const QString& caption, const QHash<QString, QString>& values);

// Reads a lesson; context references are resolved against `path`'s folder (resource paths ":/…"
// work too). Errors name the file and the reason, with the step ("steps[2].view: …").
std::optional<Lesson> loadLesson(const QString& path, QString* error);
std::optional<Lesson> parseLesson(const QByteArray& json, const QString& path, QString* error);
QByteArray lessonToJson(const Lesson& lesson);
bool saveLesson(const QString& path, const Lesson& lesson, QString* error);

}  // namespace attnscope::gui
