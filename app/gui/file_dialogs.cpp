#include "file_dialogs.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>

#include "settings.h"

namespace attnscope::gui {

QString askOpenFile(QWidget* parent, const QString& caption, const QString& kind, const QString& filter) {
    const QString path = QFileDialog::getOpenFileName(parent, caption, Settings::lastDirectory(kind), filter);
    if (!path.isEmpty()) Settings::setLastDirectory(kind, QFileInfo(path).absolutePath());
    return path;
}

QString askFolder(QWidget* parent, const QString& caption, const QString& kind) {
    const QString dir = QFileDialog::getExistingDirectory(parent, caption, Settings::lastDirectory(kind));
    if (!dir.isEmpty()) Settings::setLastDirectory(kind, dir);
    return dir;
}

QString askSaveFile(QWidget* parent, const QString& caption, const QString& kind, const QString& fileName,
                    const QStringList& filters, const QStringList& extensions, int selected) {
    const QString start =
        QFileInfo(fileName).isAbsolute() ? fileName : QDir(Settings::lastDirectory(kind)).filePath(fileName);
    QString filter = filters.value(selected);
    QString path = QFileDialog::getSaveFileName(parent, caption, start, filters.join(QStringLiteral(";;")), &filter);
    if (path.isEmpty()) return {};
    if (QFileInfo(path).suffix().isEmpty() && !extensions.isEmpty())
        path += QLatin1Char('.') + extensions.value(std::max<qsizetype>(0, filters.indexOf(filter)));
    Settings::setLastDirectory(kind, QFileInfo(path).absolutePath());
    return path;
}

}  // namespace attnscope::gui
