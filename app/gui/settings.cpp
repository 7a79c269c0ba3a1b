#include "settings.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace attnscope::gui {

namespace {

const QString kRecentModels = QStringLiteral("recent/models");
const QString kRecentFiles = QStringLiteral("recent/files");

QStringList recent(const QString& key) { return QSettings().value(key).toStringList(); }

// Puts `path` first in the list (once), keeping at most kMaxRecent.
void addRecent(const QString& key, const QString& path) {
    QStringList list = recent(key);
    const QString abs = QFileInfo(path).absoluteFilePath();
    list.removeAll(abs);
    list.prepend(abs);
    while (list.size() > Settings::kMaxRecent) list.removeLast();
    QSettings().setValue(key, list);
}

}  // namespace

QStringList Settings::recentModels() { return recent(kRecentModels); }
void Settings::addRecentModel(const QString& path) { addRecent(kRecentModels, path); }
QStringList Settings::recentFiles() { return recent(kRecentFiles); }
void Settings::addRecentFile(const QString& path) { addRecent(kRecentFiles, path); }
void Settings::clearRecent() {
    QSettings s;
    s.remove(kRecentModels);
    s.remove(kRecentFiles);
}

double Settings::pngScale() {
    const double v = QSettings().value(QStringLiteral("export/pngScale"), 2.0).toDouble();
    return v >= 0.25 && v <= 8 ? v : 2.0;
}
void Settings::setPngScale(double scale) { QSettings().setValue(QStringLiteral("export/pngScale"), scale); }

QString Settings::lastDirectory(const QString& kind) {
    const QString d = QSettings().value(QStringLiteral("dirs/") + kind).toString();
    return !d.isEmpty() && QDir(d).exists() ? d : QDir::homePath();
}
void Settings::setLastDirectory(const QString& kind, const QString& dir) {
    QSettings().setValue(QStringLiteral("dirs/") + kind, dir);
}

QByteArray Settings::windowGeometry() { return QSettings().value(QStringLiteral("window/geometry")).toByteArray(); }
QByteArray Settings::windowState() { return QSettings().value(QStringLiteral("window/state")).toByteArray(); }
void Settings::setWindowLayout(const QByteArray& geometry, const QByteArray& state) {
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), geometry);
    s.setValue(QStringLiteral("window/state"), state);
}

}  // namespace attnscope::gui
