#include "settings.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace attnscope::gui {

namespace {

QStringList pushRecent(QStringList list, const QString& path) {
    const QString abs = QFileInfo(path).absoluteFilePath();
    list.removeAll(abs);
    list.prepend(abs);
    while (list.size() > Settings::kMaxRecent) list.removeLast();
    return list;
}

}  // namespace

QStringList Settings::recentModels() { return QSettings().value(QStringLiteral("recent/models")).toStringList(); }
void Settings::addRecentModel(const QString& path) {
    QSettings().setValue(QStringLiteral("recent/models"), pushRecent(recentModels(), path));
}
void Settings::removeRecentModel(const QString& path) {
    QStringList l = recentModels();
    l.removeAll(path);
    QSettings().setValue(QStringLiteral("recent/models"), l);
}
QStringList Settings::recentFiles() { return QSettings().value(QStringLiteral("recent/files")).toStringList(); }
void Settings::addRecentFile(const QString& path) {
    QSettings().setValue(QStringLiteral("recent/files"), pushRecent(recentFiles(), path));
}
void Settings::removeRecentFile(const QString& path) {
    QStringList l = recentFiles();
    l.removeAll(path);
    QSettings().setValue(QStringLiteral("recent/files"), l);
}
void Settings::clearRecent() {
    QSettings s;
    s.remove(QStringLiteral("recent/models"));
    s.remove(QStringLiteral("recent/files"));
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
