#pragma once
// Session files: readable JSON holding the model path, the context (the CLI's context format),
// the method options, the selection and the view state. Written atomically (QSaveFile): a failed
// save leaves the previous file intact. Reading validates every field before anything is used,
// so a corrupt file is reported (file + reason) and changes nothing.
//
// {
//   "format": "attnscope-session", "version": 1,
//   "model": "stories260K.gguf",
//   "context": {"prefix": "...", "chunks": ["...", "..."], "query": "..."},   (ContextSpec::toJson)
//   "method": {"mode": "parallel", "sink": true, "selective": false, "select_k": 2,
//              "score_top_n": 5, "aggregation": "none", "positions": "stretch", "bos": "none",
//              "window_rule": "physical"},   (window_rule absent: physical)
//   "selection": {"layer": 0, "head": -1, "query_token": -1, "rows": "query"},
//   "sweep": {"parts": [1, 2, 4, 8, 16], "query_tokens": 64},
//   "view": {"presentation": false, "log_scale": false, "current_view": "heatmap",
//            "geometry": "<base64>", "state": "<base64>"}
// }
#include <QJsonObject>
#include <QString>

#include <optional>

#include "app_state.h"

namespace attnscope::gui {

inline constexpr const char* kSessionFormat = "attnscope-session";
inline constexpr int kSessionVersion = 1;

QJsonObject sessionToJson(const SessionState& state);
// `file` labels errors. Returns nullopt and a one-line reason in *error.
std::optional<SessionState> sessionFromJson(const QJsonObject& json, const QString& file, QString* error);

// The context as the engine's ContextSpec JSON (the CLI's context format); `reason` without the
// file name.
QJsonObject contextSpecToQJson(const ContextSpec& context);
std::optional<ContextSpec> contextSpecFromQJson(const QJsonObject& json, QString* reason);

QJsonObject methodToJson(const MethodSettings& m);
std::optional<MethodSettings> methodFromJson(const QJsonObject& json, QString* error);

bool saveSession(const QString& path, const SessionState& state, QString* error);
std::optional<SessionState> loadSession(const QString& path, QString* error);
// True when the JSON object looks like a session rather than a bare context.
bool isSessionJson(const QJsonObject& json);
bool isSessionJson(const Json& json);

}  // namespace attnscope::gui
