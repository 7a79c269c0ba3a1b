#pragma once
// The app's input files: what a path is (a model, a session) and reading a session or context
// file whole, at most 64 MiB, with errors that name the file and the reason.
#include <QByteArray>
#include <QString>

#include <optional>

namespace attnscope::gui {

inline constexpr qint64 kMaxInputFileBytes = qint64(64) << 20;

// The file's bytes, or nullopt and "PATH: cannot open (reason)" / "NAME: too large for a WHAT
// (N bytes)" in *error. `what` names the kind of file ("session file", "context").
std::optional<QByteArray> readInputFile(const QString& path, const QString& what, QString* error);

// A model: a .gguf or .safetensors file, or a folder with a config.json (Hugging Face).
bool isModelPath(const QString& path);
// A session rather than a bare context? Decided by content, not by name.
bool isSessionFile(const QString& path);

}  // namespace attnscope::gui
