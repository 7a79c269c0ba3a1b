#pragma once
// Reading the app's input files (sessions, contexts): whole, at most 64 MiB, with errors that
// name the file and the reason.
#include <QByteArray>
#include <QString>

#include <optional>

namespace attnscope::gui {

inline constexpr qint64 kMaxInputFileBytes = qint64(64) << 20;

// The file's bytes, or nullopt and "PATH: cannot open (reason)" / "NAME: too large for a WHAT
// (N bytes)" in *error. `what` names the kind of file ("session file", "context").
std::optional<QByteArray> readInputFile(const QString& path, const QString& what, QString* error);

}  // namespace attnscope::gui
