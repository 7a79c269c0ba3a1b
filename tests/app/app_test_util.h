#pragma once
// Helpers shared by the app tests.
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QString>

#include <cstdlib>

namespace apptest {

// The bundled demo model, or empty when ATTNSCOPE_MODELS does not hold it.
inline QString demoModelPath() {
    const char* dir = std::getenv("ATTNSCOPE_MODELS");
    if (!dir) return {};
    const QString p = QDir(QString::fromLocal8Bit(dir)).filePath(QStringLiteral("stories260K.gguf"));
    return QFileInfo::exists(p) ? p : QString();
}

// The demo context shipped with the app (resources/demo_context.json).
inline QString demoContextPath() { return QStringLiteral(":/demo/demo_context.json"); }

}  // namespace apptest
