#pragma once
// Persistent preferences (QSettings): recent models and files, window layout, export scale,
// last folders.
#include <QByteArray>
#include <QString>
#include <QStringList>

namespace attnscope::gui {

class Settings {
public:
    static constexpr int kMaxRecent = 10;

    static QStringList recentModels();
    static void addRecentModel(const QString& path);
    static QStringList recentFiles();  // sessions and contexts
    static void addRecentFile(const QString& path);
    static void clearRecent();

    static double pngScale();  // default 2
    static void setPngScale(double scale);
    static QString lastDirectory(const QString& kind);  // "model", "context", "session", "export"
    static void setLastDirectory(const QString& kind, const QString& dir);

    static QByteArray windowGeometry();
    static QByteArray windowState();
    static void setWindowLayout(const QByteArray& geometry, const QByteArray& state);
};

}  // namespace attnscope::gui
