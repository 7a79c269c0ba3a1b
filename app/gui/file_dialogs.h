#pragma once
// File choosers that start in the folder last used for the same kind of file ("model",
// "session", "context", "export") and remember the folder chosen.
#include <QString>
#include <QStringList>

class QWidget;

namespace attnscope::gui {

// An existing file; empty when cancelled.
QString askOpenFile(QWidget* parent, const QString& caption, const QString& kind, const QString& filter);
// An existing folder; empty when cancelled.
QString askFolder(QWidget* parent, const QString& caption, const QString& kind);
// A file to write. `fileName` is suggested in the kind's folder (an absolute path is used as it
// is); `filters[selected]` is preselected. A name typed without an extension gets the chosen
// filter's extension (`extensions` parallel to `filters`; none when `extensions` is empty).
QString askSaveFile(QWidget* parent, const QString& caption, const QString& kind, const QString& fileName,
                    const QStringList& filters, const QStringList& extensions = {}, int selected = 0);

}  // namespace attnscope::gui
