#include "input_file.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include "session_file.h"

namespace attnscope::gui {

std::optional<QByteArray> readInputFile(const QString& path, const QString& what, QString* error) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QStringLiteral("%1: cannot open (%2)").arg(path, f.errorString());
        return std::nullopt;
    }
    if (f.size() > kMaxInputFileBytes) {
        if (error)
            *error =
                QStringLiteral("%1: too large for a %2 (%3 bytes)").arg(QFileInfo(path).fileName(), what).arg(f.size());
        return std::nullopt;
    }
    return f.readAll();
}

bool isModelPath(const QString& path) {
    const QFileInfo fi(path);
    if (fi.isDir()) return QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")));
    const QString s = fi.suffix().toLower();
    return s == QLatin1String("gguf") || s == QLatin1String("safetensors");
}

bool isSessionFile(const QString& path) {
    const auto bytes = readInputFile(path, QStringLiteral("session file"), nullptr);
    const QJsonDocument doc = bytes ? QJsonDocument::fromJson(*bytes) : QJsonDocument();
    return doc.isObject() && isSessionJson(doc.object());
}

}  // namespace attnscope::gui
